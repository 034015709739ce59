"""The non-spiking output layer and the result on the AXI4-Stream output.

Its current summed over the T timesteps is the accumulator (logit); the class is the lowest
index of the largest accumulator. The result is classes + 1 32-bit words: the class word (bit 31
set when the input frame was malformed, see the direct kernels), then the accumulators; TLAST
marks the last. The accumulators are then cleared by a sweep.
"""
from __future__ import annotations

import math

from core.hw.design import Memory, Process
from core.hw.kernels.base import EOT, SETTLE, Kernel, mean_spikes, register
from core.hw.kernels.event import dense_weights
from core.hw.sim import Read, Wait, Write


class _Result(Kernel):
    writes_result = True
    pipe = 5     # address register, read, RAM output register, the lane's value, the output word

    def result(self, p: Process, io):
        yield Read(io.flag_in)
        yield Wait(p.params["classes"])                  # argmax, one accumulator per cycle
        yield Write(io.m_axis, 1, self.pipe)             # the class word, once the argmax
        yield Wait(self.pipe)                            # pipeline has drained
        for _ in range(p.params["classes"]):             # the accumulators
            yield Write(io.m_axis, 1, self.pipe)
            yield Wait(1)
        yield Wait(p.params["groups"] + SETTLE)          # clear sweep


@register
class ReadoutEvent(_Result):
    name = "readout_event"
    summary = "spike-driven readout: T scatters into the accumulators, then the result"

    def work_bound(self, p: Process, design, traces) -> float:
        return mean_spikes(p, traces)[0] * p.layer.outputs / p.params["lanes"]

    def make(self, layer, lanes: int, src_map, timesteps: int, in_stream,
             flag_stream) -> Process:
        groups = math.ceil(layer.outputs / lanes)
        wa = dense_weights(layer, src_map, groups, lanes)
        return Process(
            name=layer.name, kernel=self.name, layer=layer,
            params=dict(in_g=src_map.slice, in_h=src_map.height, in_w=src_map.width,
                        in_c_pad=src_map.padded_channels, classes=layer.outputs, lanes=lanes,
                        groups=groups, timesteps=timesteps),
            widths=dict(weight_bits=layer.weight_bits, acc_bits=layer.acc_bits),
            comment=f"{layer.name}: spike-driven readout over T timesteps; class and "
                    "accumulators to m_axis",
            in_stream=in_stream, weights=wa, flag_in=flag_stream,
            memories=[Memory("accumulators", "ram", groups, lanes * layer.acc_bits),
                      Memory("weights", "rom", wa.words, wa.word_bits)])

    def behaviour(self, p: Process, io, image):
        groups = p.params["groups"]
        for _ in range(p.params["timesteps"]):
            while True:
                tok = yield Read(io.inp)
                if tok == EOT:
                    break
                yield Wait(tok * groups)
            yield Wait(SETTLE)
        yield from self.result(p, io)


@register
class ReadoutDirect(_Result):
    name = "readout_direct"
    summary = "readout on the input codes: accumulators = T x current"

    def units(self, p: Process) -> str:
        return f"{p.params['lanes']} lanes"

    def make(self, layer, lanes: int, timesteps: int, in_stream, flag_stream) -> Process:
        groups = math.ceil(layer.outputs / lanes)
        return Process(
            name=layer.name, kernel=self.name, layer=layer,
            params=dict(classes=layer.outputs, lanes=lanes, groups=groups, timesteps=timesteps),
            widths=dict(current_bits=layer.current_bits, acc_bits=layer.acc_bits),
            comment=f"{layer.name}: readout, accumulators = T x current; class and "
                    "accumulators to m_axis",
            in_stream=in_stream, flag_in=flag_stream,
            memories=[Memory("accumulators", "ram", groups, lanes * layer.acc_bits)])

    def behaviour(self, p: Process, io, image):
        for _ in range(p.params["groups"]):
            yield Read(io.inp)
            yield Wait(1)
        yield Wait(SETTLE)
        yield from self.result(p, io)
