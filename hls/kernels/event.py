"""Spike-driven conv and dense LIF layers (snn::conv_event, snn::dense_event)."""
from __future__ import annotations

from core.hw.design import Process
from hls.kernels.base import ScatterKernel, register, table


@register
class ConvEvent(ScatterKernel):
    kind = "conv_event"
    args = ["in", "out", "w"]

    def params(self, p: Process, design) -> tuple[dict, list]:
        """Plus the bank and tap of every input row and column (quotient and remainder by K
        after padding), as constant tables."""
        params, tables = super().params(p, design)
        K, pad = p.params["kernel"], p.params["pad"]
        for axis, n in (("y", p.params["in_h"]), ("x", p.params["in_w"])):
            q = [(i + pad) // K for i in range(n)]
            r = [(i + pad) % K for i in range(n)]
            tables += [table(f"q{axis}_of", q, max(1, max(q).bit_length())),
                       table(f"r{axis}_of", r, max(1, (K - 1).bit_length()))]
        return params, tables


@register
class DenseEvent(ScatterKernel):
    kind = "dense_event"
    args = ["in", "out", "w"]
