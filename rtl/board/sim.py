"""The simulated board: the board project's top (hire_snn_ulx3s, with the PLL replaced by a
pass-through stub) built by Verilator with the C++ harness rtl/hdl/board/sim/board_sim.cpp, run
as a serial device on a pseudo-terminal that the runtime opens with pyserial, as it opens a
ULX3S's /dev/ttyUSB0.

The harness toggles the clock in C++ (no Python per cycle), serialises the host's bytes onto
the FPGA's RX pin at the host's real bit time and deserialises its TX pin independently of
the RTL UART (sampling mid-bit). One build per (sources' content, flags, tool versions) under
build/rtl_sim (HIRE_SNN_RTL_BUILD), made once under a file lock like rtl.sim's builds; the
weights are read at run time from the project folder (the harness's working directory).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from core.errors import ToolError
from rtl.board import project as board_project
from rtl.board.transport import BoardError, SerialTransport
from rtl.verilator import (DEFAULT_BUILD_ROOT, SPEED_ARGS, file_lock, log_tail, tool_versions,
                           check_verilator, find_verilator)

REPO = Path(__file__).resolve().parents[2]
MARKER = ".hire_snn_board_build.json"
EXE = "Vboard"
SIM_DIR = REPO / "build" / "board"


def build_root() -> Path:
    return Path(os.environ.get("HIRE_SNN_RTL_BUILD") or DEFAULT_BUILD_ROOT).resolve()


def sim_sources(prj: Path, meta: dict) -> list[Path]:
    """The project's synthesis sources with the PLL replaced by the stub, then the harness."""
    b = meta["board"]
    srcs = [prj / s for s in meta["sources"] if s != b.get("pll_file")]
    return [*srcs, prj / b["sim_pll"], prj / b["sim_harness"]]


def _args(meta: dict) -> list[str]:
    jobs = max(1, int(os.environ.get("HIRE_SNN_RTL_JOBS", "2")))
    make = "CFG_CXXFLAGS_PCH_I=-include" + (" OBJCACHE=ccache" if shutil.which("ccache") else "")
    return ["--cc", "--exe", "--build", "-j", str(jobs), "--no-timing", "--prefix", EXE,
            "--top-module", meta["top"], *SPEED_ARGS, "-MAKEFLAGS", make, "-o", EXE]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "VERILATOR_ROOT"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("CCACHE_DIR", str(DEFAULT_BUILD_ROOT.parent / "ccache"))
    return env


def build(prj, root=None) -> Path:
    """Build (once) the simulated board of project folder `prj`; returns the executable."""
    prj = Path(prj).resolve()
    meta = board_project.load(prj)
    srcs = sim_sources(prj, meta)
    missing = [str(s) for s in srcs if not s.is_file()]
    if missing:
        raise ToolError(f"{prj}: missing sources {', '.join(missing)}")
    args = _args(meta)
    h = hashlib.sha256(json.dumps([args, tool_versions()]).encode())
    for s in srcs:
        h.update(s.name.encode() + b"\0" + hashlib.sha256(s.read_bytes()).digest())
    root = Path(root).resolve() if root else build_root()
    bdir = root / f"board-{meta['top']}-{h.hexdigest()[:16]}"
    exe = bdir / "obj" / EXE
    if (bdir / MARKER).is_file() and exe.is_file():
        return exe
    with file_lock(root / f".{bdir.name}.lock"):
        if (bdir / MARKER).is_file() and exe.is_file():
            return exe
        verilator = find_verilator()
        check_verilator(verilator)
        shutil.rmtree(bdir, ignore_errors=True)
        bdir.mkdir(parents=True)
        log = bdir / "build.log"
        cmd = [verilator, *args, "--Mdir", str(bdir / "obj"), *map(str, srcs)]
        t0 = time.perf_counter()
        with open(log, "w") as f:
            f.write(" ".join(cmd) + "\n")
            f.flush()
            p = subprocess.run(cmd, cwd=bdir, stdout=f, stderr=subprocess.STDOUT, env=_env())
        if p.returncode != 0 or not exe.is_file():
            raise ToolError(f"Verilator build of the simulated board from {prj} failed (exit "
                            f"{p.returncode}); log {log}:\n{log_tail(log)}")
        (bdir / MARKER).write_text(json.dumps({
            "project": str(prj), "sources": [str(s) for s in srcs], "args": args,
            "seconds": round(time.perf_counter() - t0, 2)}, indent=1))
    return exe


class SimBoard:
    """A running simulated board: the harness process and its pty."""

    def __init__(self, prj, baud: int | None = None, skew_ppm: float = 0.0,
                 max_cycles: int = 0, stop_error_at: int | None = None, root=None,
                 start_timeout: float = 60.0):
        self.project = Path(prj).resolve()
        meta = board_project.load(self.project)
        self.meta = meta
        self.exe = build(self.project, root)
        self.clk_hz = int(meta["board"]["clk_hz"])
        self.baud = int(baud or meta["board"]["baud"])
        self._tmp = tempfile.TemporaryDirectory(prefix="board-sim-")
        self.stats_path = Path(self._tmp.name) / "stats.json"
        self.log_path = Path(self._tmp.name) / "sim.log"
        self._log = open(self.log_path, "w")
        cmd = [str(self.exe), "--clk-hz", str(self.clk_hz), "--baud", str(self.baud),
               "--skew-ppm", str(skew_ppm), "--stats", str(self.stats_path)]
        if max_cycles:
            cmd += ["--max-cycles", str(int(max_cycles))]
        if stop_error_at is not None:           # a planted fault: that byte's stop bit low
            cmd += ["--stop-error-at", str(int(stop_error_at))]
        self.proc = subprocess.Popen(cmd, cwd=self.project, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log)
        self.pty = self._read_pty(start_timeout)
        self.stats: dict | None = None

    def _read_pty(self, timeout: float) -> str:
        line: list[bytes] = []
        t = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()),
                             daemon=True)
        t.start()
        t.join(timeout)
        text = line[0].decode(errors="replace").strip() if line else ""
        if not text.startswith("pty "):
            self.close()
            raise ToolError(f"the simulated board did not start ({text or 'no output'}); log "
                            f"{self.log_path}:\n{log_tail(self.log_path)}")
        return text[4:]

    def close(self) -> dict | None:
        """Stop the harness (it exits when its stdin closes) and return its counters."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.stats is None and self.stats_path.is_file():
            try:
                self.stats = json.loads(self.stats_path.read_text())
            except json.JSONDecodeError:
                self.stats = None
        self._log.close()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.stats

    def cleanup(self) -> None:
        self._tmp.cleanup()


class SimTransport(SerialTransport):
    """pyserial on the simulated board's pty; closing it stops the simulation and keeps the
    harness's counters in `stats` (cycles, bytes, TX timing, cycles per second)."""

    def __init__(self, board: SimBoard, baud: int):
        self.board = board
        try:
            super().__init__(board.pty, baud)
        except BoardError:
            board.close()
            board.cleanup()
            raise
        self.name = f"sim:{board.project}"
        self.stats: dict | None = None

    def close(self) -> None:
        super().close()
        self.stats = self.board.close()
        self.board.cleanup()


def default_project(net, baud: int, timeout_us: int | None = None,
                    clk_hz: int | None = None) -> Path:
    """build/board/sim-<IR hash>: the board project of `net` (no PLL) at the default clock."""
    out = SIM_DIR / f"sim-{net.sha256[:12]}"
    board_project.write(net, out, clk_hz=clk_hz or board_project.DEFAULT_MHZ * 1_000_000,
                        baud=baud, timeout_us=timeout_us or board_project.DEFAULT_TIMEOUT_US)
    return out


def open_sim(prj, baud: int, run=None, net=None, skew_ppm: float = 0.0, max_cycles: int = 0,
             timeout_us: int | None = None, clk_hz: int | None = None,
             stop_error_at: int | None = None) -> SimTransport:
    """The transport of --port sim[:PROJECT]: PROJECT, or a project made for `net`."""
    if prj is None:
        if net is None:
            raise BoardError("--port sim needs the run's network")
        prj = default_project(net, baud, timeout_us, clk_hz)
    prj = Path(prj)
    if not prj.is_dir():
        raise BoardError(f"--port sim:{prj}: no such board project folder (`make bitstream` "
                         "writes one; `--port sim` makes one for the run)")
    meta = board_project.load(prj)
    if net is not None and meta.get("ir_sha256") != net.sha256:
        raise BoardError(f"{prj} holds the RTL of another network (IR sha256 "
                         f"{str(meta.get('ir_sha256'))[:12]}..., the run's is "
                         f"{net.sha256[:12]}...): regenerate it for this run")
    # the harness plays the host's side of the line at the runtime's baud rate: a rate other
    # than the project's garbles bytes, as on a board
    board = SimBoard(prj, baud=baud, skew_ppm=skew_ppm, max_cycles=max_cycles,
                     stop_error_at=stop_error_at)
    return SimTransport(board, baud)
