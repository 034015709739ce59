"""Per-target variants of kernel-library modules (FINN's one op, several backend variants).

A module of rtl/hdl (the generic one: what Verilator simulates and any synthesis maps) may have
a variant for one FPGA family in rtl/hdl/<family>/, with the same module name, ports and cycle
timing, spelled in that family's primitives: rtl/hdl/ecp5/snn_mul_reg.sv puts the multiplier
on MULT18X18D's own registers, which Yosys does not infer. The writer copies the variants into
the project and records them in project.json:

    "variants": {"ecp5": {"replace": {"hdl/snn_mul_reg.sv": "hdl/ecp5/snn_mul_reg.sv"},
                          "sim_models": ["hdl/ecp5/sim/MULT18X18D.sv"]}}

`sources_for(meta, "ecp5")` is the source list the ECP5 flow synthesizes (rtl.synth --family
ecp5, rtl.pnr, the board bitstream); with `sim=True` it adds the behavioural models of the
family's primitives, so the variant itself can be simulated against the golden model.
"""
from __future__ import annotations

from pathlib import Path

from core.errors import RunError

HDL = Path(__file__).parent / "hdl"
FAMILIES = ("ecp5",)


def library_variants() -> tuple[dict, dict]:
    """({project path: text} of every variant file and sim model, the manifest's "variants")."""
    files, manifest = {}, {}
    for fam in FAMILIES:
        replace = {}
        for f in sorted((HDL / fam).glob("snn_*.sv")):
            if not (HDL / f.name).is_file():
                raise RunError(f"{f}: a {fam} variant of a module rtl/hdl does not have")
            replace[f"hdl/{f.name}"] = f"hdl/{fam}/{f.name}"
            files[f"hdl/{fam}/{f.name}"] = f.read_text()
        models = []
        for f in sorted((HDL / fam / "sim").glob("*.sv")):
            models.append(f"hdl/{fam}/sim/{f.name}")
            files[models[-1]] = f.read_text()
        manifest[fam] = {"replace": replace, "sim_models": models}
    return files, manifest


def sources_for(meta: dict, family: str | None = None, sim: bool = False,
                root: Path | None = None) -> list[str]:
    """The project's sources with `family`'s variants in place of the generic modules (and,
    with sim, the behavioural models of its primitives first). No family: the generic ones.
    With `root` (the project folder) each is checked to be a file relative to it."""
    sources = list(meta["sources"])
    v = meta.get("variants", {}).get(family) if family is not None else None
    if v is not None:
        replace = v.get("replace", {})
        sources = [replace.get(s, s) for s in sources]
        if sim:
            sources = [*v.get("sim_models", []), *sources]
    if root is not None:
        for s in sources:
            if Path(s).is_absolute() or not (Path(root) / s).is_file():
                raise RunError(f"{Path(root) / 'project.json'}: source {s} is not a file "
                               f"relative to {root}; regenerate the project")
    return sources
