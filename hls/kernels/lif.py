"""The first layer's LIF neurons on the stored current (snn::lif_direct)."""
from hls.kernels.base import HLSKernel, register


@register
class LifDirect(HLSKernel):
    kind = "lif_direct"
    args = ["in", "out"]
