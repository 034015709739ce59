"""The readout (accumulators, argmax, result words): snn_readout, on spikes or on the codes."""
from __future__ import annotations

from core.hw.design import Process, index_bits
from rtl.kernels.base import RTLKernel, register, spike_maps, weight_file
from rtl.kernels.event import dense_rom


@register
class ReadoutEvent(RTLKernel):
    kind = "readout_event"
    module = "snn_readout"

    def params(self, p: Process) -> dict:
        q, w = p.params, p.widths
        src = spike_maps(p)[0]
        return dict(DIRECT=0, IN_G=src.slice, IN_H=q["in_h"], IN_W=q["in_w"],
                    IN_GROUPS=src.groups, CLASSES=q["classes"], LANES=q["lanes"],
                    GROUPS=q["groups"], T=q["timesteps"], AB=w["acc_bits"], WB=w["weight_bits"],
                    YBI=src.y_bits, XBI=src.x_bits, GBI=src.g_bits, GBO=index_bits(q["groups"]),
                    W_FILE=weight_file(p))

    rom_words = staticmethod(dense_rom)


@register
class ReadoutDirect(RTLKernel):
    kind = "readout_direct"
    module = "snn_readout"

    def params(self, p: Process) -> dict:
        q, w = p.params, p.widths
        return dict(DIRECT=1, CLASSES=q["classes"], LANES=q["lanes"], GROUPS=q["groups"],
                    T=q["timesteps"], AB=w["acc_bits"], CURB=w["current_bits"],
                    GBO=index_bits(q["groups"]), IN_W_BITS=q["lanes"] * w["current_bits"])
