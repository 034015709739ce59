"""OR pooling of spike slices (snn::pool_or): the pooled row and column of an input position
come from constant tables, not from a divider."""
from __future__ import annotations

from core.hw.design import Process
from hls.kernels.base import HLSKernel, in_spikes, register, table


@register
class PoolOr(HLSKernel):
    kind = "pool_or"
    args = ["in", "out"]

    def params(self, p: Process, design) -> tuple[dict, list]:
        params, tables = super().params(p, design)
        src = in_spikes(p)
        rate = design.settings["spike_rate"]
        params["slices_max"] = src.positions * src.groups + 1
        params["slices_avg"] = int(round(src.positions * sum(
            1 - (1 - rate) ** n for n in src.slice_sizes()))) + 1
        s, h, w = p.params["size"], p.params["in_h"], p.params["in_w"]
        tables += [table("py_of", [y // s for y in range(h)], max(1, (h // s).bit_length())),
                   table("px_of", [x // s for x in range(w)], max(1, (w // s).bit_length()))]
        return params, tables
