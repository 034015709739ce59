"""cocotb tests of the bare hire_snn top through cocotbext-axi (run by test_protocol.py).

The pytest side writes the frames and the golden results to an npz named by HIRE_SNN_EXPECT
(`frames`: one code array per frame, `words`: the classes+1 expected words of each, and for the
reset test `reset_cycles`, the reset lengths to try); each test here drives them through the
AXI4-Stream bus models and compares word by word.
"""
from __future__ import annotations

import itertools
import os

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge

from axis_tb import TB

# reset points in an image, as fractions of its latency (last beat -> first result word): the
# first layer's current (its LIF's first pass), its later passes, the layers after it
MID_IMAGE = (0.3, 0.6, 0.8, 0.9)


def expected(*extra):
    with np.load(os.environ["HIRE_SNN_EXPECT"], allow_pickle=True) as z:
        return (list(z["frames"]), z["words"].astype(np.int64), *[z[k].tolist() for k in extra])


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
    """For each reset length of the npz (1: a one-cycle pulse), a reset while a frame is half
    sent, then while images are computed (MID_IMAGE) and while a result waits on a stalled
    m_axis. Each is followed by a whole image that must be right: membranes, pool stamps and
    accumulators are cleared by sweeps, and no token in flight at the reset survives it (a
    one-cycle pulse clears only what is reset, nothing drains during it). After a mid-image
    reset that image is frame 0, all zero: silent, so a stray spike token shows in its
    accumulators rather than hiding among the image's own spikes (test_protocol makes one
    spike enough to reach them). TREADY is low in every reset (TB.reset checks it)."""
    frames, words, lengths = expected("reset_cycles")
    tb = TB(dut)
    clk = dut.ap_clk
    n = len(frames)
    assert not np.any(frames[0]), "frame 0 must be all zero (core.frames.sample_images)"
    await tb.reset()
    # the latency of an image alone, in cycles, places the mid-image resets
    await tb.send_frame(frames[1])
    start = get_sim_time("ns")
    await RisingEdge(dut.m_axis_TVALID)
    latency = int(get_sim_time("ns") - start) // tb.period_ns
    check(await tb.recv_result(), words[1], 1)
    busy = itertools.cycle(range(1, n))    # frames to cut: spiking ones
    for cycles in lengths:
        # a frame cut by a reset about half way (slowed by gaps so that it is still being sent)
        cut = frames[next(busy)]
        tb.source.set_pause_generator(itertools.cycle([1, 1, 1, 0]))
        await tb.source.send(bytes(bytearray(cut)))
        await ClockCycles(clk, 2 * len(cut))
        assert int(dut.s_axis_TVALID.value) or not tb.source.empty()   # really mid-frame
        await tb.reset(cycles)
        i = next(busy)
        check(await tb.run_frame(frames[i]), words[i], i)
        # whole frames, reset while they are computed
        for frac in MID_IMAGE:
            await tb.send_frame(frames[next(busy)])
            await ClockCycles(clk, max(1, int(latency * frac)))
            assert not int(dut.m_axis_TVALID.value)                      # really mid-image
            await tb.reset(cycles)
            check(await tb.run_frame(frames[0]), words[0], 0)
        # a result held in the output register and FIFO by a stalled m_axis
        tb.sink.pause = True
        await tb.send_frame(frames[next(busy)])
        await RisingEdge(dut.m_axis_TVALID)
        await ClockCycles(clk, 3)
        await tb.reset(cycles)
        check(await tb.run_frame(frames[0]), words[0], 0)
    tb.set_idle(itertools.cycle([1, 0, 0]))
    tb.set_backpressure(itertools.cycle([0, 1]))
    for i in range(n // 2, n):
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
