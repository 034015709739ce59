"""OR pooling of spike slices: snn_pool_or."""
from __future__ import annotations

from core.hw.design import Process
from rtl.kernels.base import RTLKernel, register, spike_maps


@register
class PoolOr(RTLKernel):
    kind = "pool_or"
    module = "snn_pool_or"

    def params(self, p: Process) -> dict:
        q = p.params
        src, out = spike_maps(p)
        return dict(SIZE=q["size"], IN_H=q["in_h"], IN_W=q["in_w"], OUT_H=q["out_h"],
                    OUT_W=q["out_w"], IN_GROUPS=q["in_groups"], SL=q["out_g"], T=q["timesteps"],
                    YBI=src.y_bits, XBI=src.x_bits, YBO=out.y_bits, XBO=out.x_bits, GB=src.g_bits)
