"""Vivado HLS / Vitis HLS synthesis and co-simulation of a generated project, when installed.

Usage: python -m hls.synth [PROJECT] [--no-cosim] [--export] [--tool vivado_hls|vitis_hls]

Runs `<tool> -f build_prj.tcl "reset=1 csim=1 synth=1 cosim=1 validation=1 export=0"` in
PROJECT (default build/hls_prj). Neither tool is free software or installed here: when neither
vivado_hls nor vitis_hls is on PATH it says so and exits 0 (nothing to do is not a failure;
C simulation with g++ is `python -m hls.csim`).
Exit status: 0 done or skipped, the tool's status on a failure, 2 no project.
The exported Verilog (PROJECT/hire_snn_prj/solution1/impl/verilog, or syn/verilog) has the
same ports as the RTL backend's top: `HIRE_SNN_RTL_DIR=<that folder> pytest rtl_tests` runs the
RTL tests on it (docs/RTL.md).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from core.errors import RunError, cli, run_cli
from hls.generate import DEFAULT_OUT

TOOLS = ("vivado_hls", "vitis_hls")


def find_tool(prefer: str | None = None) -> str | None:
    for t in ([prefer] if prefer else TOOLS):
        if shutil.which(t):
            return t
    return None


def tcl_args(cosim: bool = True, export: bool = False) -> str:
    c = int(cosim)
    return f"reset=1 csim=1 synth=1 cosim={c} validation={c} export={int(export)}"


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hls.synth", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("project", nargs="?", default=str(DEFAULT_OUT),
                    help=f"generated project folder (default {DEFAULT_OUT})")
    ap.add_argument("--no-cosim", action="store_true", help="skip C/RTL co-simulation")
    ap.add_argument("--export", action="store_true", help="also export the IP catalog entry")
    ap.add_argument("--tool", choices=TOOLS, help="which tool (default: the first on PATH)")
    a = ap.parse_args(argv)
    prj = Path(a.project)
    if not (prj / "build_prj.tcl").is_file():
        raise RunError(f"{prj}: no build_prj.tcl; generate the project first with "
                       "`python -m hls.generate RUN --out PROJECT` (or make hls)")
    tool = find_tool(a.tool)
    if tool is None:
        print(f"hls.synth: neither {' nor '.join(TOOLS)} is on PATH; skipped synthesis and "
              f"co-simulation of {prj} (C simulation without Vivado: python -m hls.csim)")
        return 0
    cmd = [tool, "-f", "build_prj.tcl", tcl_args(not a.no_cosim, a.export)]
    print(f"hls.synth: {' '.join(cmd)}  (in {prj})", flush=True)
    return subprocess.run(cmd, cwd=prj).returncode


if __name__ == "__main__":
    run_cli(main)
