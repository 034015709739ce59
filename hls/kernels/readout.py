"""The readout (accumulators, argmax, result words): snn::readout_event on spikes,
snn::readout_direct on the input codes."""
from hls.kernels.base import HLSKernel, ScatterKernel, register


@register
class ReadoutEvent(ScatterKernel):
    kind = "readout_event"
    args = ["in", "flag_in", "m_axis", "w"]


@register
class ReadoutDirect(HLSKernel):
    kind = "readout_direct"
    args = ["in", "flag_in", "m_axis"]
