"""The first layer's current from the input codes (snn::conv_direct_current,
snn::dense_direct_current)."""
from hls.kernels.base import HLSKernel, register


@register
class ConvDirectCurrent(HLSKernel):
    kind = "conv_direct_current"
    args = ["s_axis", "out", "flag_out", "w"]


@register
class DenseDirectCurrent(HLSKernel):
    kind = "dense_direct_current"
    args = ["s_axis", "out", "flag_out", "w"]
