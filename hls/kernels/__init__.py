"""The HLS backend's spelling of every kernel kind of core.hw.kernels (FINN's `_hls` variants),
registered by kind name: `spelling(p.kernel)` gives the library function, the call's arguments
and the config struct of a process. One file per kernel family, as in core/hw/kernels."""
from core.registry import import_all
from hls.kernels.base import HLSKernel, spelled_kinds, spelling

__all__ = ["HLSKernel", "spelled_kinds", "spelling"]


import_all(__name__, __path__)  # every module registers the kinds it defines
