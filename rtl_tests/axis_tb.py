"""cocotb test bench for the bare hire_snn top: AXI4-Stream in (8-bit codes), AXI4-Stream out
(classes+1 32-bit words), through cocotbext-axi's bus models.

Why: protocol tests (back-pressure, gaps, reset mid-frame, TLAST placement) read best as in
cocotbext-axi's own tests: a TB object with a source, a sink and pause generators. Two things
keep them fast and exact here:
- the port names are Vivado HLS's upper-case ones (s_axis_TDATA...), mapped explicitly instead
  of relying on a case-insensitive lookup;
- pause generators wake Python every clock, so they run only while a frame moves (one frame in
  flight at a time); during the network's compute phase Python sleeps and cocotb's Clock runs
  in C.

Run through rtl.sim: `RTLProject(PRJ).run_cocotb("test_axis")` builds the "axis" flavour (the bare
top, cocotb's Clock) and runs a test module from rtl_tests/ with the project folder as working
directory; HIRE_SNN_RTL_PROJECT_JSON then names project.json (classes, n_inputs).
"""
from __future__ import annotations

import json
import os

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

PERIOD_NS = 10


class VivadoAxiStreamBus(AxiStreamBus):
    """AXI-Stream signals named as Vivado HLS exports them: <prefix>_TDATA, _TVALID, ..."""

    _signals = {"tdata": "TDATA"}
    _optional_signals = {"tvalid": "TVALID", "tready": "TREADY", "tlast": "TLAST",
                         "tkeep": "TKEEP"}


def project_meta() -> dict:
    """project.json of the project under test ({} outside rtl.sim)."""
    path = os.environ.get("HIRE_SNN_RTL_PROJECT_JSON")
    if not path:
        return {}
    with open(path) as f:
        return json.load(f)


def _iterator(generator):
    """A pause pattern: None, an iterator, or a callable returning one (called once)."""
    if generator is None:
        return None
    return generator() if callable(generator) else iter(generator)


class TB:
    """hire_snn with an AxiStreamSource on s_axis_*, an AxiStreamSink on m_axis_* and a 10 ns
    cocotb Clock on ap_clk. `classes` defaults to project.json's."""

    def __init__(self, dut, classes: int | None = None, period_ns: int = PERIOD_NS):
        self.dut = dut
        self.log = dut._log
        self.period_ns = period_ns
        meta = project_meta()
        self.classes = int(classes if classes is not None else meta["classes"])
        self.n_inputs = meta.get("n_inputs")
        self.result_words = self.classes + 1
        Clock(dut.ap_clk, period_ns, unit="ns").start()
        self.source = AxiStreamSource(VivadoAxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk,
                                      dut.ap_rst_n, reset_active_level=False)
        self.sink = AxiStreamSink(VivadoAxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        dut.s_axis_TSTRB.value = 1          # not modelled by cocotbext-axi: every byte is data
        self._idle = None
        self._backpressure = None

    # ---- pause patterns (1 = pause this cycle) --------------------------------------------------

    def set_idle(self, generator=None) -> None:
        """TVALID gaps on the input while a frame is sent, e.g. itertools.cycle([1, 0, 0, 0])."""
        self._idle = _iterator(generator)

    def set_backpressure(self, generator=None) -> None:
        """TREADY low on the output while a result is received."""
        self._backpressure = _iterator(generator)

    # ---- control ----------------------------------------------------------------------------

    async def reset(self, cycles: int = 5) -> None:
        """Hold ap_rst_n low for `cycles` rising edges (1: a one-cycle pulse); usable mid-frame:
        the bus models drop queued and in-flight data, and no pause generator is left running.
        s_axis_TREADY must be low from the moment ap_rst_n falls (a beat taken in reset would be
        lost): it is sampled, settled, before every reset edge."""
        self.source.clear_pause_generator()
        self.sink.clear_pause_generator()
        self.source.pause = self.sink.pause = False
        self.dut.ap_rst_n.value = 0
        for k in range(cycles):
            await ReadOnly()
            if int(self.dut.s_axis_TREADY.value):
                raise AssertionError(f"s_axis_TREADY high in reset, before reset edge {k + 1} "
                                     f"of {cycles}")
            await RisingEdge(self.dut.ap_clk)
        self.source.clear()
        self.sink.clear()
        self.dut.ap_rst_n.value = 1
        await ClockCycles(self.dut.ap_clk, 2)

    async def send_frame(self, codes) -> None:
        """One frame (bytes or uint8 codes; TLAST on the last beat); returns when the DUT has
        accepted every beat."""
        data = bytes(codes) if isinstance(codes, (bytes, bytearray)) else bytes(bytearray(codes))
        if self._idle is not None:
            self.source.set_pause_generator(self._idle)
        try:
            await self.source.send(AxiStreamFrame(data))
            await self.source.wait()
        finally:
            if self._idle is not None:
                self.source.clear_pause_generator()
                self.source.pause = False

    async def recv_result(self, timeout_cycles: int | None = 2_000_000) -> list[int]:
        """The next result: classes+1 32-bit words, TLAST on the last only (a result is what
        the sink collects up to TLAST, so a misplaced TLAST shows as a wrong word count)."""
        bp = self._backpressure
        try:
            if bp is not None:
                if not int(self.dut.m_axis_TVALID.value):
                    await self._timed(RisingEdge(self.dut.m_axis_TVALID), timeout_cycles)
                self.sink.set_pause_generator(bp)
            frame = await self._timed(self.sink.recv(), timeout_cycles)
        finally:
            if bp is not None:
                self.sink.clear_pause_generator()
                self.sink.pause = False
        data = bytes(frame.tdata)
        if len(data) % 4:
            raise AssertionError(f"result of {len(data)} bytes: TKEEP not all ones")
        words = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]
        if len(words) != self.result_words:
            raise AssertionError(f"result of {len(words)} words up to TLAST, expected "
                                 f"{self.result_words} (classes + 1): TLAST misplaced")
        return words

    async def run_frame(self, codes, timeout_cycles: int | None = 2_000_000) -> list[int]:
        """send_frame then recv_result."""
        await self.send_frame(codes)
        return await self.recv_result(timeout_cycles)

    async def _timed(self, awaitable, cycles: int | None):
        if not cycles:
            return await awaitable
        try:
            return await with_timeout(awaitable, cycles * self.period_ns, "ns")
        except TimeoutError as e:            # cocotb's SimTimeoutError is a TimeoutError
            d = self.dut
            raise AssertionError(
                f"no complete result within {cycles} cycles (m_axis_TVALID="
                f"{d.m_axis_TVALID.value}, m_axis_TREADY={d.m_axis_TREADY.value}, "
                f"s_axis_TREADY={d.s_axis_TREADY.value})") from e
