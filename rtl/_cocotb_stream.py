"""cocotb side of rtl.sim's bulk streaming runs (loaded inside the simulator, never imported).

Why a separate module: the simulator imports it by name from rtl/ (not as rtl._cocotb_stream),
so it must not pull in the rtl package or numpy; it only sets tb_stream's ports, pulses `start`
and sleeps until `done` (the clock runs in the HDL: Python wakes once per run, not per cycle).

Input: HIRE_SNN_STREAM_MANIFEST names a JSON file {"runs": [...], "result": PATH}; each run gives
n_in, n_out, drain_cycles, max_cycles, max_idle, gaps, seed, reset and the four file paths.
Output: PATH gets {"runs": [{timed_out, words_in, words_out, words_extra, run_cycles, seconds,
cpu_seconds}]}, rewritten after every run so that a crash still leaves the runs that finished.
"""
from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.triggers import RisingEdge, Timer

PATH_BYTES = 512          # tb_stream's PATHW / 8
PORTS = ("n_in", "n_out", "drain_cycles", "max_cycles", "max_idle", "seed")
FILES = ("infile", "outfile", "incycfile", "outcycfile")
COUNTS = ("timed_out", "words_in", "words_out", "words_extra", "run_cycles")


def packed_path(path: str) -> int:
    """A path as the integer value of a packed string port (Verilog drops leading zero bytes)."""
    b = path.encode()
    if len(b) >= PATH_BYTES:
        raise ValueError(f"path longer than {PATH_BYTES - 1} bytes: {path}")
    return int.from_bytes(b, "big")


def write_json(path: str, obj) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


async def pulse_reset(dut) -> None:
    dut.reset.value = 1
    await Timer(20, unit="ns")
    dut.reset.value = 0
    await Timer(150, unit="ns")          # RST_CYCLES = 8 cycles of 10 ns, plus margin


async def one_run(dut, run: dict) -> dict:
    for k in PORTS:
        getattr(dut, k).value = int(run[k])
    dut.gaps_en.value = int(bool(run["gaps"]))
    for k in FILES:
        getattr(dut, k).value = packed_path(run[k])
    dut.start.value = 1
    t0, c0 = time.perf_counter(), time.process_time()
    await RisingEdge(dut.done)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    dut.start.value = 0
    rec = {k: int(getattr(dut, k).value) for k in COUNTS}
    rec["seconds"], rec["cpu_seconds"] = seconds, cpu
    await Timer(20, unit="ns")           # start stays low over an edge before the next run
    return rec


@cocotb.test()
async def stream_runs(dut):
    with open(os.environ["HIRE_SNN_STREAM_MANIFEST"]) as f:
        manifest = json.load(f)
    dut.start.value = 0
    dut.reset.value = 0
    await Timer(200, unit="ns")          # the harness resets the DUT from time 0
    done = []
    for run in manifest["runs"]:
        if run.get("reset"):
            await pulse_reset(dut)
        rec = await one_run(dut, run)
        done.append(rec)
        write_json(manifest["result"], {"runs": done})
        if rec["timed_out"]:
            break
