"""cocotb tests of the bare hire_snn top through cocotbext-axi (run by test_protocol.py).

The pytest side writes the frames and the golden results to an npz named by HIRE_SNN_EXPECT
(`frames`: one code array per frame, `words`: the classes+1 expected words of each, `case`);
each test here drives them through the AXI4-Stream bus models and compares word by word.
"""
from __future__ import annotations

import itertools
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge

from axis_tb import TB


def expected():
    with np.load(os.environ["HIRE_SNN_EXPECT"], allow_pickle=True) as z:
        return list(z["frames"]), z["words"].astype(np.int64)


def check(got, want, i):
    assert [int(w) for w in got] == [int(w) for w in want], \
        f"image {i}: RTL {[int(w) for w in got]} != golden {[int(w) for w in want]}"


@cocotb.test()
async def back_to_back_with_gaps_and_backpressure(dut):
    """Frames sent back to back (the next before the previous result) with TVALID gaps and
    TREADY back-pressure: every result equals the golden one, no state leaks across images."""
    frames, words = expected()
    tb = TB(dut)
    await tb.reset()
    tb.source.set_pause_generator(itertools.cycle([0, 0, 1, 0, 1]))
    tb.sink.set_pause_generator(itertools.cycle([1, 0, 0, 1, 1, 0]))

    async def send_all():
        for f in frames:
            await tb.source.send(bytes(bytearray(f)))

    sender = cocotb.start_soon(send_all())
    for i, want in enumerate(words):
        frame = await tb._timed(tb.sink.recv(), 2_000_000)
        data = bytes(frame.tdata)
        got = [int.from_bytes(data[k:k + 4], "little") for k in range(0, len(data), 4)]
        check(got, want, i)
    await sender


@cocotb.test()
async def reset_mid_frame_and_mid_image(dut):
    """A reset while a frame is half sent, and one while an image is being computed: the next
    image is right (membranes, pool stamps and accumulators are cleared by sweeps)."""
    frames, words = expected()
    tb = TB(dut)
    await tb.reset()
    # a frame cut by a reset about half way (slowed by gaps so that it is still being sent)
    tb.source.set_pause_generator(itertools.cycle([1, 1, 1, 0]))
    await tb.source.send(bytes(bytearray(frames[0])))
    await ClockCycles(dut.ap_clk, 2 * len(frames[0]))
    assert int(dut.s_axis_TVALID.value) or not tb.source.empty()   # really mid-frame
    await tb.reset()
    check(await tb.run_frame(frames[1]), words[1], 1)
    # a whole frame, reset while it is computed, then the next image
    await tb.send_frame(frames[2])
    await ClockCycles(dut.ap_clk, 3000)
    await tb.reset()
    check(await tb.run_frame(frames[3]), words[3], 3)
    tb.set_idle(itertools.cycle([1, 0, 0]))
    tb.set_backpressure(itertools.cycle([0, 1]))
    for i in range(4, len(frames)):
        check(await tb.run_frame(frames[i]), words[i], i)


@cocotb.test()
async def tlast_early_and_late(dut):
    """A short frame (TLAST early) and a long one (TLAST late): each gives one result with the
    class word's error bit, the frames after them are right. The npz's frames hold them."""
    frames, words = expected()
    tb = TB(dut)
    await tb.reset()
    for i, (f, want) in enumerate(zip(frames, words)):
        await tb.send_frame(f)
        if not int(dut.m_axis_TVALID.value):
            await RisingEdge(dut.m_axis_TVALID)
        check(await tb.recv_result(), want, i)
