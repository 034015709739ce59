"""The first layer's input current, computed once per image from the 8-bit pixel codes.

Direct input means the current is the same at every timestep, so these kernels run once per
image and the LIF kernel stores the current and reuses it T times. They read the AXI4-Stream
input, check each frame's length against TLAST (a malformed frame sets the error flag sent to
the result process; a short frame is zero-filled, a long one truncated) and hold the design's
only multipliers: `lanes` x `taps` of them (8-bit code x weight), each reused for every
`taps`-th tap: a conv kernel takes one tap, one kernel row or the whole window per cycle
(settings.layers.<name>.taps), its frame held in as many banks so that those taps are read in
the same cycle.
"""
from __future__ import annotations

from core.hw.design import Memory, Process, WeightArray, index_bits
from core.hw.kernels.base import Kernel, pad_outputs, register
from core.hw.sim import Read, Wait, Write

FLAG = 1     # cycles from the last issue to the flag's write, and from it to the release
# a frame bank this small goes to LUT RAM: it would fill at most a quarter of a block RAM
LUTRAM_FRAME_BITS = 4096


class _Direct(Kernel):
    reads_input = True
    pipe = 6     # read, RAM/ROM word, registered again, multiplier input registers, product
                 # register, sum of the cycle's taps, accumulate

    def work_bound(self, p: Process, design, traces) -> float:
        return max(design.n_inputs, self.macs(p, p.layer) / self.multipliers(p))

    @staticmethod
    def taps_per_cycle(p: Process) -> int:
        """Kernel taps a cycle takes (a dense first layer: one)."""
        return p.params.get("taps_y", 1) * p.params.get("taps_x", 1)

    def units(self, p: Process) -> str:
        tp = self.taps_per_cycle(p)
        return (f"{p.params['lanes']} multipliers" if tp == 1 else
                f"{p.params['lanes']} lanes x {tp} taps = {self.multipliers(p)} multipliers")

    def multipliers(self, p: Process) -> int:
        return p.params["lanes"] * self.taps_per_cycle(p)

    def parallel_units(self, p: Process) -> int:
        return self.multipliers(p)

    def frame_reader(self, p: Process, io, images: int):
        """snn_frame_in: one beat per cycle while s_axis has data; a token on io.rows as each
        row of the last channel is written (visible the next cycle), then the next frame once
        the compute releases this one (io.release)."""
        c, h, w = p.params["in_c"], p.params["in_h"], p.params["in_w"]
        row_ends = {(c - 1) * h * w + (r + 1) * w - 1 for r in range(h)}
        for _ in range(images):
            for i in range(c * h * w):
                yield Read(io.s_axis)
                if i in row_ends:
                    yield Write(io.rows, 1)
                yield Wait(1)
            yield Read(io.release)

    def behaviour(self, p: Process, io, image):
        taps = self.taps(p) // self.taps_per_cycle(p)
        got = 0
        for need in self.rows_needed(p):            # an output row once its input rows are in
            while got < need:
                yield Read(io.rows)
                got += 1
            for _ in range(self.row_slices(p)):      # one current vector per `taps` cycles
                if taps > 1:
                    yield Wait(taps - 1)
                yield Write(io.out, 1, self.pipe)
                yield Wait(1)
        while got < p.params["in_h"]:                # rows no output reads (a cropping conv)
            yield Read(io.rows)
            got += 1
        yield Write(io.flag_out, 0)                  # the frame is in: its flag, then release
        yield Wait(FLAG)
        yield Write(io.release, 1)
        yield Wait(FLAG)


@register
class ConvDirectCurrent(_Direct):
    name = "conv_direct_current"
    summary = "first conv: its current once per image (the design's multipliers)"

    def make(self, layer, lanes: int, current_stream, flag_stream, taps: int = 1) -> Process:
        c, h, w = layer.in_shape
        K, pad = layer.kernel, layer.padding
        oh, ow = layer.out_shape[1:]
        # taps per cycle: one, a kernel row (TX = K), the window (TY = TX = K)
        ty, tx = {1: (1, 1), K: (1, K), K * K: (K, K)}[taps]
        groups = -(-layer.outputs // lanes)
        arr = pad_outputs(layer.weights.astype("int64"), groups, lanes)
        arr = arr.reshape(groups, lanes, c * K * K).transpose(0, 2, 1)
        # one word per (group, block of ty x tx taps): a block is (c, ky / ty, kx / tx), its
        # taps in (ky, kx) order, so the C-order tap index splits into (block, tap in block)
        arr = arr.reshape(groups, c * K * K // taps, taps, lanes)
        wa = WeightArray(f"w_{layer.name}", arr, ("group", "tap_block", "tap", "lane"), 2,
                         layer.weight_bits)
        return Process(
            name=f"{layer.name}_current", kernel=self.name, layer=layer,
            params=dict(in_c=c, in_h=h, in_w=w, out_h=oh, out_w=ow, kernel=K, pad=pad,
                        lanes=lanes, groups=groups, taps_y=ty, taps_x=tx,
                        blocks_y=K // ty, blocks_x=K // tx),
            widths=dict(code_bits=8, weight_bits=layer.weight_bits,
                        current_bits=layer.current_bits),
            comment=f"{layer.name}: convolution current of the input codes, once per image"
                    + (f", {taps} taps per cycle" if taps > 1 else ""),
            out_stream=current_stream, weights=wa, flag_out=flag_stream,
            memories=self.frame_banks(c, h, w, pad, ty, tx)
            + [Memory("weights", "rom", wa.words, wa.word_bits)])

    @staticmethod
    def frame_banks(c, h, w, pad, ty, tx) -> list:
        """The frame: one RAM {c, y, x}, or ty x tx banks by padded (row mod ty, column mod tx)
        ({c, row / ty, column / tx}, power-of-two fields as the RTL addresses them, no c field
        for one channel), in LUT RAM when small."""
        if ty * tx == 1:
            return [Memory("input frame", "ram", c * h * w, 8)]
        qh = -(-(h + 2 * pad) // ty) if ty > 1 else h
        qw = -(-(w + 2 * pad) // tx) if tx > 1 else w
        depth = (1 << index_bits(qh)) * (1 << index_bits(qw)) * (1 << index_bits(c) if c > 1 else 1)
        return [Memory(f"input frame bank {by}{bx}", "ram", depth, 8,
                       lutram=depth * 8 <= LUTRAM_FRAME_BITS)
                for by in range(ty) for bx in range(tx)]

    @staticmethod
    def taps(p):
        return p.params["in_c"] * p.params["kernel"] ** 2

    @staticmethod
    def slices(p):
        return p.params["out_h"] * p.params["out_w"] * p.params["groups"]

    @staticmethod
    def row_slices(p):
        return p.params["out_w"] * p.params["groups"]

    @staticmethod
    def rows_needed(p):
        """Rows of the last input channel that output row oy reads up to (the RTL's need_of)."""
        k, pad, h = p.params["kernel"], p.params["pad"], p.params["in_h"]
        return [max(0, min(h, oy + k - pad)) for oy in range(p.params["out_h"])]

    @staticmethod
    def macs(p, layer):
        return p.params["out_h"] * p.params["out_w"] * layer.outputs * ConvDirectCurrent.taps(p)


@register
class DenseDirectCurrent(_Direct):
    name = "dense_direct_current"
    summary = "first dense layer or readout: its current once per image"

    def make(self, layer, lanes: int, current_stream, flag_stream, taps: int = 1) -> Process:
        c, h, w = layer.in_shape
        n_in = c * h * w
        groups = -(-layer.outputs // lanes)
        arr = pad_outputs(layer.weights.astype("int64"), groups, lanes)
        arr = arr.reshape(groups, lanes, n_in).transpose(0, 2, 1)
        wa = WeightArray(f"w_{layer.name}", arr, ("group", "input", "lane"), 1, layer.weight_bits)
        return Process(
            name=f"{layer.name}_current", kernel=self.name, layer=layer,
            params=dict(in_c=c, in_h=h, in_w=w, pad=0, n_in=n_in, lanes=lanes, groups=groups),
            widths=dict(code_bits=8, weight_bits=layer.weight_bits,
                        current_bits=layer.current_bits),
            comment=f"{layer.name}: dense current of the input codes, once per image",
            out_stream=current_stream, weights=wa, flag_out=flag_stream,
            memories=[Memory("input frame", "ram", n_in, 8),
                      Memory("weights", "rom", wa.words, wa.word_bits)])

    @staticmethod
    def taps(p):
        return p.params["n_in"]

    @staticmethod
    def slices(p):
        return p.params["groups"]

    @staticmethod
    def row_slices(p):
        return p.params["groups"]

    @staticmethod
    def rows_needed(p):
        return [p.params["in_h"]]                    # the kernel is the whole image

    @staticmethod
    def macs(p, layer):
        return p.params["n_in"] * layer.outputs
