"""The RTL backend's spelling of every kernel kind of core.hw.kernels (FINN's `_rtl` variants),
registered by kind name: `spelling(p.kernel)` gives the module, parameters, weight ROM and
connections of a process. One file per kernel family, as in core/hw/kernels."""
from rtl.kernels.base import RTLKernel, spelled_kinds, spelling, weight_file

__all__ = ["RTLKernel", "spelled_kinds", "spelling", "weight_file"]


def _register_all():
    """Import every module of this package: each registers the kinds it defines, so a new
    kind is a new file here and nothing else to edit."""
    import importlib
    import pkgutil
    for m in pkgutil.iter_modules(__path__):
        if m.name != "base":
            importlib.import_module(f"{__name__}.{m.name}")


_register_all()
