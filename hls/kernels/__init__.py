"""The HLS backend's spelling of every kernel kind of core.hw.kernels (FINN's `_hls` variants),
registered by kind name: `spelling(p.kernel)` gives the library function, the call's arguments
and the config struct of a process. One file per kernel family, as in core/hw/kernels."""
from hls.kernels.base import HLSKernel, spelled_kinds, spelling

__all__ = ["HLSKernel", "spelled_kinds", "spelling"]


def _register_all():
    """Import every module of this package: each registers the kinds it defines, so a new
    kind is a new file here and nothing else to edit."""
    import importlib
    import pkgutil
    for m in pkgutil.iter_modules(__path__):
        if m.name != "base":
            importlib.import_module(f"{__name__}.{m.name}")


_register_all()
