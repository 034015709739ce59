"""Spike-driven conv and dense LIF layers (snn_conv_event, snn_dense_event) and the layouts of
their weight ROMs (the readout's dense ROM is the same layout)."""
from __future__ import annotations

import numpy as np

from core.hw.design import Process, index_bits
from rtl.kernels.base import RTLKernel, field_bits, pack_words, register, spike_maps, weight_file


def dense_rom(p: Process) -> tuple[list[int], int]:
    """A dense (or readout) ROM: address {g_in, lsb, y, x, og}, word: the LANES weights."""
    w = p.weights
    v = w.values
    src = p.in_stream.spikes
    lbi = index_bits(src.slice)
    cpad = src.groups * src.slice
    gbo = field_bits(p.params["groups"])
    yb, xb = field_bits(src.height), field_bits(src.width)
    n = 1 << (field_bits(src.groups) + lbi + yb + xb + gbo)
    flat = np.zeros((n, v.shape[-1]), np.int64)
    c, y, x, og = np.meshgrid(np.arange(cpad), np.arange(v.shape[1]), np.arange(v.shape[2]),
                              np.arange(v.shape[3]), indexing="ij")
    addr = (((((c // src.slice) << lbi | (c % src.slice)) << yb | y) << xb | x) << gbo) | og
    flat[addr.reshape(-1)] = v.reshape(-1, v.shape[-1])
    return pack_words(flat, w.bits), w.word_bits


@register
class ConvEvent(RTLKernel):
    kind = "conv_event"
    module = "snn_conv_event"

    def params(self, p: Process) -> dict:
        q, w = p.params, p.widths
        src, out = spike_maps(p)
        return dict(IN_G=src.slice, IN_H=q["in_h"], IN_W=q["in_w"], IN_GROUPS=src.groups,
                    OUT_H=q["out_h"], OUT_W=q["out_w"], K=q["kernel"], PAD=q["pad"],
                    LANES=q["lanes"], GROUPS=q["groups"], BANK_H=q["bank_h"],
                    BANK_W=q["bank_w"], T=q["timesteps"], TH=q["threshold"],
                    LEAK=q["leak_shift"], MB=w["membrane_bits"], WB=w["weight_bits"],
                    YBI=src.y_bits, XBI=src.x_bits, GBI=src.g_bits, YBO=out.y_bits,
                    XBO=out.x_bits, GBO=out.g_bits, BANK_LUTRAM=q["bank_lutram"],
                    W_FILE=weight_file(p))

    def rom_words(self, p: Process):
        """Address {g_in, lsb, og * K * K + ky * K + kx} (the taps of a channel packed); word:
        the LANES weights of that tap. Every bank reads its own copy with its own tap."""
        w = p.weights
        v = w.values
        src = p.in_stream.spikes
        lbi = index_bits(src.slice)
        K = p.params["kernel"]
        kk = K * K * p.params["groups"]
        tgb = max(1, index_bits(kk))
        n = 1 << (field_bits(src.groups) + lbi + tgb)
        flat = np.zeros((n, v.shape[-1]), np.int64)
        for c in range(src.groups * src.slice):
            base = ((c // src.slice) << lbi | (c % src.slice)) << tgb
            flat[base:base + kk] = v[c].reshape(kk, -1)      # (og, ky, kx) -> og*K*K + ky*K + kx
        return pack_words(flat, w.bits), v.shape[-1] * w.bits


@register
class DenseEvent(RTLKernel):
    kind = "dense_event"
    module = "snn_dense_event"

    def params(self, p: Process) -> dict:
        q, w = p.params, p.widths
        src, out = spike_maps(p)
        return dict(IN_G=src.slice, IN_H=q["in_h"], IN_W=q["in_w"], IN_GROUPS=src.groups,
                    LANES=q["lanes"], GROUPS=q["groups"], T=q["timesteps"], TH=q["threshold"],
                    LEAK=q["leak_shift"], MB=w["membrane_bits"], WB=w["weight_bits"],
                    YBI=src.y_bits, XBI=src.x_bits, GBI=src.g_bits, GBO=out.g_bits,
                    W_FILE=weight_file(p))

    rom_words = staticmethod(dense_rom)
