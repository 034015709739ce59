"""OR pooling of binary spikes, event-driven like the layers around it.

Each input slice ORs into its pooled slice; only channels set for the first time in the
timestep go out, so each pooled spike is sent once per timestep. Per-entry timestep stamps say
whether a stored mask belongs to the current timestep (nothing is cleared between timesteps);
a sweep clears the stamps after each image (and after reset). Rows and columns beyond
out * size are dropped (floor), as in the golden model. Pooled coordinates come from small
constant tables (y -> y / size), not from dividers.
"""
from __future__ import annotations

from core.hw.design import Memory, Process, index_bits
from core.hw.kernels.base import EOT, Kernel, mean_spikes, register
from core.hw.sim import Read, Wait, Write


@register
class PoolOr(Kernel):
    name = "pool_or"
    summary = "OR pooling of spike slices"
    pipe = 3     # read, RAM output register, merge and token

    def work_bound(self, p: Process, design, traces) -> float:
        return mean_spikes(p, traces)[1]         # one slice token per cycle

    def units(self, p: Process) -> str:
        return "1 slice per cycle"

    def parallel_units(self, p: Process) -> int:
        return p.params["out_g"]                 # one OR per channel of the slice

    def input_pool(self, p: Process) -> int:
        return p.params["size"]

    def make(self, layer, src_map, out_map, timesteps: int, in_stream, out_stream) -> Process:
        s = layer.size
        entries = src_map.groups * out_map.height * out_map.width
        stamp_bits = index_bits(timesteps + 1)
        return Process(
            name=layer.name, kernel=self.name, layer=layer,
            params=dict(size=s, in_h=src_map.height, in_w=src_map.width, out_h=out_map.height,
                        out_w=out_map.width, in_groups=src_map.groups, out_g=src_map.slice,
                        timesteps=timesteps, stamp_bits=stamp_bits),
            widths={},
            comment=f"{layer.name}: OR pooling {s}x{s} of the spikes before it",
            in_stream=in_stream, out_stream=out_stream,
            memories=[Memory("pool state", "ram", entries, src_map.slice + stamp_bits)])

    @staticmethod
    def entries(p) -> int:
        return p.params["in_groups"] * p.params["out_h"] * p.params["out_w"]

    def behaviour(self, p: Process, io, image):
        s = p.out_stream.name
        for t in range(p.params["timesteps"]):
            emits = image.emits[s][t]
            toks = image.tokens[s][t]
            k = 0
            i = 0
            while True:
                tok = yield Read(io.inp)
                if tok == EOT:
                    yield Write(io.out, EOT, self.pipe)
                    yield Wait(1)
                    break
                if k < len(emits) and emits[k] == i:
                    yield Write(io.out, toks[k], self.pipe)
                    k += 1
                yield Wait(1)
                i += 1
        yield Wait(self.entries(p) + 1)             # the last eot's stages, the stamp sweep
