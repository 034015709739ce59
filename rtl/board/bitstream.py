"""The network as a ULX3S bitstream: the board project (RTL + UART bridge + PLL from ecppll +
pins), then Yosys synth_ecp5, nextpnr-ecp5 and ecppack through `python -m rtl.pnr`.

Usage: python -m rtl.board.bitstream [RUN] [--board ulx3s-85f] [--mhz 100] [--baud 3000000]
                                     [--out build/board/BOARD] [--config JSON] [--seed N]

The design clock is the PLL's output: ecppll (yowasp-ecppll) chooses the EHXPLLL dividers for
--mhz from the 25 MHz oscillator (without ecppll installed, rtl/board/ecppll_ulx3s.json holds
its output for 25, 40, 50, 60, 62.5, 75, 80 and 100 MHz), and the UART divisor is
round(f / baud), refused when more than 2 % off. Writes OUT (the board project) and
OUT/hire_snn_ulx3s.bit, prints how to load it, and last one JSON object (rtl.pnr's report plus
the board settings).
Exit status: 0 written (see timing_met: a clock nextpnr could not meet is reported, not
refused), 2 an error (no run, no tools, a clock the UART cannot divide, P&R failure).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.errors import ToolError, cli, run_cli
from core.runs import DEFAULT_RUN, load_network
from rtl.board import pll as board_pll
from rtl.board import project as board_project

DEFAULT_OUT = Path("build/board")
BITSTREAM = f"{board_project.TOP}.bit"


def load_command(bit: Path) -> str:
    return f"openFPGALoader -b ulx3s {bit}"


def bitstream(run, board: str = board_project.DEFAULT_BOARD, mhz: float = 100,
              baud: int = board_project.DEFAULT_BAUD, out=None, config=None, seed: int = 1,
              timeout_us: int = board_project.DEFAULT_TIMEOUT_US, log=print) -> dict:
    net = load_network(run)
    out = Path(out) if out else DEFAULT_OUT / board
    pll = board_pll.pll_for(mhz)
    if abs(pll.exact_hz - int(round(float(mhz) * 1e6))) > 1:
        log(f"note: the PLL gives {float(pll.exact_hz) / 1e6:.6g} MHz for {mhz:g} MHz "
            f"({pll.command}); the design is built for that")
    board_project.check_uart(pll.clk_hz, baud)        # before any file is written
    board_project.write(net, out, clk_hz=pll.clk_hz, baud=baud, timeout_us=timeout_us,
                        pll=pll, board=board, config=config)
    meta = board_project.load(out)
    b = meta["board"]
    log(f"wrote {out}: {net.summary()} at {pll.clk_hz / 1e6:g} MHz (PLL: {pll.command}, from "
        f"{pll.source}), UART {baud} baud = {b['uart_divisor']} cycles per bit "
        f"({100 * b['baud_error']:+.2f} %)")
    try:
        from rtl import pnr
    except ImportError as e:
        raise ToolError(f"rtl.pnr is not importable ({e})") from e
    bit = (out / BITSTREAM).resolve()
    args = [str(out), "--part", b["part"], "--mhz", f"{pll.clk_hz / 1e6:g}", "--top",
            board_project.TOP, "--clock", CLOCK, "--lpf", str(out / b["lpf"]), "--bitstream",
            str(bit), "--seed", str(seed)]
    log("python -m rtl.pnr " + " ".join(args))
    if pnr.main(args) != 0:
        raise ToolError(f"python -m rtl.pnr {' '.join(args)} failed (its error is above)")
    try:
        rep = json.loads((out / "pnr_report.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"rtl.pnr wrote no readable {out / 'pnr_report.json'} ({e})") from e
    rep.update(board=board, clk_hz=pll.clk_hz, baud=baud, uart_divisor=b["uart_divisor"],
               pll_command=pll.command, pll_source=pll.source, project=str(out),
               bitstream=str(bit), load=load_command(bit))
    with open(out / "bitstream_report.json", "w") as f:
        json.dump(rep, f, indent=1)
    log(f"bitstream {bit}\n"
        f"load it into the FPGA (until power-off):  {load_command(bit)}\n"
        f"or write it to the board's flash:         openFPGALoader -b ulx3s -f {bit}\n"
        f"then run the test vectors on it:          python -m rtl.board {run} "
        f"--port /dev/ttyUSB0 --baud {baud}")
    return rep


# the design clock's net as nextpnr names it: the PLL output inside the board top
CLOCK = "u_board.clk"


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl.board.bitstream", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder (with ir/) or IR folder (default {DEFAULT_RUN})")
    ap.add_argument("--board", default=board_project.DEFAULT_BOARD,
                    choices=sorted(board_project.BOARDS),
                    help=f"the ULX3S's FPGA (default {board_project.DEFAULT_BOARD})")
    ap.add_argument("--mhz", type=float, default=100, help="design clock in MHz (default 100)")
    ap.add_argument("--baud", type=int, default=board_project.DEFAULT_BAUD,
                    help=f"UART baud rate (default {board_project.DEFAULT_BAUD}, the FT231X's "
                         "fastest)")
    ap.add_argument("--timeout-us", type=int, default=board_project.DEFAULT_TIMEOUT_US,
                    help="the bridge's inter-byte timeout inside a request (default "
                         f"{board_project.DEFAULT_TIMEOUT_US} us)")
    ap.add_argument("--out", help=f"board project folder (default {DEFAULT_OUT}/BOARD)")
    ap.add_argument("--config", help="the network's settings JSON (see python -m rtl.generate)")
    ap.add_argument("--seed", type=int, default=1, help="nextpnr's placement seed")
    a = ap.parse_args(argv)
    if a.mhz <= 0:
        ap.error("--mhz must be > 0")
    rep = bitstream(a.run, a.board, a.mhz, a.baud, a.out, a.config, a.seed, a.timeout_us,
                    log=lambda m: print(m, flush=True))
    print(json.dumps(rep, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    run_cli(main)
