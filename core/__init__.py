"""The torch-free core of the flow: the IR contract every stage agrees on.

- ir: schema, validation, load/save and `Network`, a typed read-only view of a loaded IR;
- widths: interval analysis of register widths;
- golden: the integer golden model, the reference every implementation must equal;
- compare: comparison with the golden model, including the token order a streaming backend emits;
- runs: run-folder access (default run, attack keys, test vectors);
- random_ir: seeded random IRs for backend tests that must not need torch;
- hw: the target-neutral hardware design (kernel registry, mapping, cycle model) that the HLS
  and RTL backends spell in their own languages.

Nothing here imports torch, train/, quant/ or a backend: data flows one way, from quant/ (which
writes the IR) through core/ to hls/ and rtl/.
"""
