"""IR -> RTL project folder (SystemVerilog for Verilator and Yosys), the RTL backend's entry point.

Usage: python -m rtl.generate [RUN_OR_IR_DIR] [--out DIR] [--config JSON]

RUN_OR_IR_DIR is a run folder holding ir/ or an IR folder; default runs/latest. The network is
mapped onto the same target-neutral design as the HLS backend (core.hw) and written to --out
(default build/rtl_prj), replacing it whole only when generation succeeds.
Exit status: 0 written, 2 an error (missing or invalid IR, unmappable network, bad setting).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.errors import cli, run_cli
from core.hw.mapping import as_network, design_of
from core.runs import DEFAULT_RUN, load_network
from rtl import writer

DEFAULT_OUT = Path("build/rtl_prj")


def generate(net, out=DEFAULT_OUT, config=None, overrides: dict | None = None,
             weights=None) -> Path:
    """Map a Network (or model.json dict + weights) onto the design, then write the project."""
    design = design_of(as_network(net, weights), config, overrides)
    return writer.write(design, out)


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl.generate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder (with ir/) or IR folder (default {DEFAULT_RUN})")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help=f"project folder to write (default {DEFAULT_OUT})")
    ap.add_argument("--config", help="settings JSON (lanes per layer, fifo_depth, ...; the same "
                                     "schema as hls_config.json, docs/RTL.md)")
    a = ap.parse_args(argv)
    out = generate(load_network(a.src), a.out, a.config)
    lat = json.loads((out / "latency.json").read_text())
    print(f"wrote {out} (cycle model: {lat['cycles_per_image']:g} cycles per image, one image "
          f"every {lat['interval_between_images']:g} cycles at a {lat['assumptions']['spike_rate']:g} "
          "spike rate)")
    return 0


if __name__ == "__main__":
    run_cli(main)
