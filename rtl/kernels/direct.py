"""The first layer's current from the input codes: snn_direct_current (a dense first layer is a
convolution whose kernel is the whole image)."""
from __future__ import annotations

import numpy as np

from core.hw.design import Process
from rtl.kernels.base import RTLKernel, pack_words, register, weight_file


class _DirectCurrent(RTLKernel):
    module = "snn_direct_current"

    def rom_words(self, p: Process):
        w = p.weights
        v = w.values
        # address = group * blocks + block; a word's weights tap-major, lane fastest
        flat = v.reshape(int(np.prod(w.address_shape)), -1)
        return pack_words(flat, w.bits), w.word_bits

    def conns(self, p: Process, result: str) -> list:
        o, f = p.out_stream.name, p.flag_out.name
        return [("clk", "clk"), ("rst_n", "rst_n"),
                ("s_data", "s_axis_TDATA"), ("s_valid", "s_axis_TVALID"),
                ("s_ready", "s_axis_TREADY"), ("s_last", "s_axis_TLAST"),
                ("cur_data", f"{o}_d"), ("cur_valid", f"{o}_v"), ("cur_room", f"{o}_room"),
                ("flag_data", f"{f}_d"), ("flag_valid", f"{f}_v"), ("flag_room", f"{f}_room")]


@register
class ConvDirectCurrent(_DirectCurrent):
    kind = "conv_direct_current"

    def params(self, p: Process) -> dict:
        q, w = p.params, p.widths
        frame_lut = all(m.lutram for m in p.memories if m.name.startswith("input frame"))
        return dict(IN_C=q["in_c"], IN_H=q["in_h"], IN_W=q["in_w"], OUT_H=q["out_h"],
                    OUT_W=q["out_w"], KH=q["kernel"], KW=q["kernel"], PAD=q["pad"],
                    TY=q["taps_y"], TX=q["taps_x"], LANES=q["lanes"], GROUPS=q["groups"],
                    WB=w["weight_bits"], CURB=w["current_bits"],
                    FRAME_LUTRAM=int(frame_lut), W_FILE=weight_file(p))


@register
class DenseDirectCurrent(_DirectCurrent):
    kind = "dense_direct_current"

    def params(self, p: Process) -> dict:
        q, w = p.params, p.widths
        return dict(IN_C=q["in_c"], IN_H=q["in_h"], IN_W=q["in_w"], OUT_H=1, OUT_W=1,
                    KH=q["in_h"], KW=q["in_w"], PAD=0, LANES=q["lanes"], GROUPS=q["groups"],
                    WB=w["weight_bits"], CURB=w["current_bits"], W_FILE=weight_file(p))
