"""LIF neurons of the first layer, driven by its once-per-image current.

Timestep 0 takes each slice's current from the current stream as it is produced and stores it;
timesteps 1..T-1 reuse it. One fire pass per timestep, `lanes` neurons per cycle:
U <- U - (U >> leak_shift) (U = 0 at t = 0); U <- U + I; s = U >= threshold; U <- U - s * threshold.
"""
from __future__ import annotations

from core.hw.design import Memory, Process
from core.hw.kernels.base import EOT, Kernel, hw_threshold, register
from core.hw.sim import Wait, Write


@register
class LifDirect(Kernel):
    name = "lif_direct"
    summary = "LIF over T timesteps on the stored first-layer current"
    pipe = 4     # read, RAM output register, leak + current, fire and store

    def work_bound(self, p: Process, design, traces) -> float:
        return (design.timesteps * p.params["out_h"] * p.params["out_w"] * p.layer.outputs
                / p.params["lanes"])

    def units(self, p: Process) -> str:
        return f"{p.params['lanes']} neuron lanes"

    def eot_cycles(self, p) -> int:
        """End-of-timestep cycles: a neuron is read again one pass later, never before its
        write has landed (a pass shorter than the pipeline waits)."""
        n = self.neurons_per_pass(p)
        return 1 if n + 1 >= self.pipe else self.pipe - n

    def make(self, layer, lanes: int, positions: tuple, timesteps: int, in_stream,
             out_stream) -> Process:
        groups = -(-layer.outputs // lanes)
        n = positions[0] * positions[1] * groups
        th, th_bits = hw_threshold(layer)
        return Process(
            name=layer.name, kernel=self.name, layer=layer,
            params=dict(out_h=positions[0], out_w=positions[1], lanes=lanes, out_g=lanes,
                        groups=groups, timesteps=timesteps, threshold=th,
                        leak_shift=layer.leak_shift),
            widths=dict(current_bits=layer.current_bits, membrane_bits=layer.membrane_bits,
                        threshold_bits=th_bits),
            comment=f"{layer.name}: LIF over T timesteps, reusing the stored current",
            in_stream=in_stream, out_stream=out_stream,
            memories=[Memory("current", "ram", n, lanes * layer.current_bits),
                      Memory("membranes", "ram", n, lanes * layer.membrane_bits)])

    @staticmethod
    def neurons_per_pass(p) -> int:
        return p.params["out_h"] * p.params["out_w"] * p.params["groups"]

    def behaviour(self, p: Process, io, image):
        n = self.neurons_per_pass(p)
        s = p.out_stream.name
        for t in range(p.params["timesteps"]):
            yield from self.pass_with_emits(n, image.emits[s][t], image.tokens[s][t], io.out,
                                            first_read=io.inp if t == 0 else None,
                                            pipe=self.pipe)
            if self.eot_cycles(p) > 1:
                yield Wait(self.eot_cycles(p) - 1)
            yield Write(io.out, EOT, self.pipe)
            yield Wait(1)
