"""The RTL backend's spelling of every kernel kind of core.hw.kernels (FINN's `_rtl` variants),
registered by kind name: `spelling(p.kernel)` gives the module, parameters, weight ROM and
connections of a process. One file per kernel family, as in core/hw/kernels."""
from core.registry import import_all
from rtl.kernels.base import RTLKernel, spelled_kinds, spelling, weight_file

__all__ = ["RTLKernel", "spelled_kinds", "spelling", "weight_file"]


import_all(__name__, __path__)  # every module registers the kinds it defines
