"""The first layer's LIF neurons on the stored current: snn_lif_direct."""
from __future__ import annotations

from core.hw.design import Process
from rtl.kernels.base import RTLKernel, map_bits, register, spike_maps


@register
class LifDirect(RTLKernel):
    kind = "lif_direct"
    module = "snn_lif_direct"
    in_port = "cur"

    def params(self, p: Process) -> dict:
        q, w = p.params, p.widths
        return dict(OUT_H=q["out_h"], OUT_W=q["out_w"], LANES=q["lanes"], GROUPS=q["groups"],
                    T=q["timesteps"], TH=q["threshold"], LEAK=q["leak_shift"],
                    CURB=w["current_bits"], MB=w["membrane_bits"], **map_bits(spike_maps(p)[1]))
