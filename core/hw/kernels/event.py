"""Spike-driven LIF layers: each input spike adds its weights, so there are no multipliers.

Per timestep a layer runs two phases:
  scatter: for each input spike (one set bit of a slice) and each output group, `lanes` output
           channels add their weight in one cycle (a conv updates all kernel^2 taps at once:
           its membranes are split into kernel x kernel banks by (oy mod k, ox mod k), so the
           k^2 outputs one spike reaches lie in distinct banks);
  fire:    one pass over the membranes, `lanes` neurons per cycle, that fires, soft-resets and
           stores leak(U) for the next timestep (0 after the last one, so every image starts
           from zero).
Membrane updates are read-modify-writes of on-chip memory at one per cycle: the same address
recurs at distance `groups` (the next spike of a slice, same output group) or 1 (groups = 1),
so every backend must forward its in-flight writes at every distance up to its own RAM
read-to-write latency (docs/ARCHITECTURE.md, "Read-modify-write"): the RTL's is 2 (a RAM read
and its output register), so it forwards with groups <= 2.
"""
from __future__ import annotations

import math

import numpy as np

from core.hw.design import Memory, Process, WeightArray
from core.hw.kernels.base import (EOT, SETTLE, Kernel, hw_threshold, mean_spikes, pad_outputs,
                                   register)
from core.hw.sim import Read, Wait, Write


# Membrane banks this shallow go to LUT RAM: a block RAM's shallowest mode is 512 words (ECP5
# DP16KD 512 x 36, xc7 RAMB18 512 x 36), so it would be at most a quarter full, and the banks are
# wide (lanes x membrane bits), which block RAM pays for in blocks and LUT RAM only in bits.
SHALLOW_WORDS = 128


def dense_weights(layer, src_map, groups: int, lanes: int) -> WeightArray:
    """(O, C*H*W) -> [channel][y][x][group][lane] over the padded input channels."""
    w = layer.weights.astype(np.int64)
    o = w.shape[0]
    w4 = w.reshape(o, src_map.channels, src_map.height, src_map.width)
    pad = src_map.padded_channels - src_map.channels
    if pad:
        w4 = np.concatenate([w4, np.zeros((o, pad, src_map.height, src_map.width), w.dtype)], 1)
    arr = pad_outputs(w4, groups, lanes)                               # (Opad, Cpad, H, W)
    arr = arr.reshape(groups, lanes, *arr.shape[1:]).transpose(2, 3, 4, 0, 1)
    return WeightArray(f"w_{layer.name}", arr, ("channel", "y", "x", "group", "lane"), 1,
                       layer.weight_bits)


class _Event(Kernel):
    pipe = 3     # read, RAM output register, update and token (subclasses: their fire pass)
    drain = 0    # cycles after the end-of-timestep token before the next scatter
    def fire_iterations(self, p) -> int:
        raise NotImplementedError

    def work_bound(self, p: Process, design, traces) -> float:
        """Each spike adds to every output neuron; each timestep's fire pass visits them all
        (at every output position: fire_iterations / groups of them)."""
        positions = self.fire_iterations(p) // p.params["groups"]
        return (mean_spikes(p, traces)[0] * p.layer.outputs / p.params["lanes"]
                + design.timesteps * positions * p.layer.outputs / p.params["lanes"])

    def behaviour(self, p: Process, io, image):
        groups = p.params["groups"]
        s = p.out_stream.name
        n = self.fire_iterations(p)
        for t in range(p.params["timesteps"]):
            while True:                              # scatter: spikes x groups cycles
                tok = yield Read(io.inp)
                if tok == EOT:
                    break
                yield Wait(tok * groups)
            yield Wait(SETTLE)                       # the last membrane write lands
            yield from self.pass_with_emits(n, image.emits[s][t], image.tokens[s][t], io.out,
                                            pipe=self.pipe)
            yield Write(io.out, EOT, self.pipe)
            yield Wait(1 + self.drain)


@register
class ConvEvent(_Event):
    name = "conv_event"
    summary = "spike-driven conv + LIF (kernel^2 x lanes adders)"
    pipe = 6     # fire pass: address register, read, RAM output register, bank select, fire and
                 # reset, leak and token
    drain = 2    # the pass's last write lands before the next scatter reads

    def make(self, layer, lanes: int, src_map, timesteps: int, in_stream, out_stream) -> Process:
        K, pad = layer.kernel, layer.padding
        oh, ow = layer.out_shape[1:]
        groups = math.ceil(layer.outputs / lanes)
        cpad = src_map.padded_channels
        arr = pad_outputs(layer.weights.astype(np.int64), groups, lanes)     # (Opad, C, K, K)
        arr = np.concatenate([arr, np.zeros((arr.shape[0], cpad - src_map.channels, K, K),
                                            arr.dtype)], axis=1)            # (Opad, Cpad, K, K)
        arr = arr.reshape(groups, lanes, cpad, K, K).transpose(2, 0, 3, 4, 1)
        wa = WeightArray(f"w_{layer.name}", arr, ("channel", "group", "ky", "kx", "lane"), 3,
                         layer.weight_bits)
        bank_h, bank_w = math.ceil(oh / K), math.ceil(ow / K)
        bank_words = groups * bank_h * bank_w
        lutram = bank_words <= SHALLOW_WORDS
        th, th_bits = hw_threshold(layer)
        return Process(
            name=layer.name, kernel=self.name, layer=layer,
            params=dict(in_g=src_map.slice, in_h=src_map.height, in_w=src_map.width,
                        in_c_pad=cpad, out_h=oh, out_w=ow, kernel=K, pad=pad, lanes=lanes,
                        out_g=lanes, groups=groups, bank_h=bank_h, bank_w=bank_w,
                        bank_lutram=int(lutram), timesteps=timesteps, threshold=th,
                        leak_shift=layer.leak_shift),
            widths=dict(weight_bits=layer.weight_bits, membrane_bits=layer.membrane_bits,
                        threshold_bits=th_bits),
            comment=f"{layer.name}: spike-driven convolution + LIF ({K * K} taps x {lanes} lanes "
                    "of adders)",
            in_stream=in_stream, out_stream=out_stream, weights=wa,
            memories=[Memory(f"membranes bank {by}{bx}", "ram", bank_words,
                             lanes * layer.membrane_bits, lutram=lutram)
                      for by in range(K) for bx in range(K)]
                     + [Memory("weights", "rom", wa.words, wa.word_bits)])

    def fire_iterations(self, p) -> int:
        return p.params["out_h"] * p.params["out_w"] * p.params["groups"]

    def units(self, p: Process) -> str:
        k, lanes = p.params["kernel"], p.params["lanes"]
        return f"{k * k * lanes} adders ({k}x{k} taps x {lanes} lanes)"

    def parallel_units(self, p: Process) -> int:
        return p.params["kernel"] ** 2 * p.params["lanes"]


@register
class DenseEvent(_Event):
    name = "dense_event"
    summary = "spike-driven dense + LIF (lanes adders)"
    pipe = 5     # fire pass: address register, read, RAM output register, fire and reset, leak
                 # and token
    drain = 1

    def make(self, layer, lanes: int, src_map, timesteps: int, in_stream, out_stream) -> Process:
        groups = math.ceil(layer.outputs / lanes)
        wa = dense_weights(layer, src_map, groups, lanes)
        th, th_bits = hw_threshold(layer)
        return Process(
            name=layer.name, kernel=self.name, layer=layer,
            params=dict(in_g=src_map.slice, in_h=src_map.height, in_w=src_map.width,
                        in_c_pad=src_map.padded_channels, lanes=lanes, out_g=lanes,
                        groups=groups, timesteps=timesteps, threshold=th,
                        leak_shift=layer.leak_shift),
            widths=dict(weight_bits=layer.weight_bits, membrane_bits=layer.membrane_bits,
                        threshold_bits=th_bits),
            comment=f"{layer.name}: spike-driven dense + LIF ({lanes} lanes of adders)",
            in_stream=in_stream, out_stream=out_stream, weights=wa,
            memories=[Memory("membranes", "ram", groups, lanes * layer.membrane_bits),
                      Memory("weights", "rom", wa.words, wa.word_bits)])

    def fire_iterations(self, p) -> int:
        return p.params["groups"]
