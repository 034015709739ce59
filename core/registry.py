"""Registries filled by the modules of a package: importing every module of the package lets
each register what it defines (a kernel kind, a backend's spelling, an attack), so adding one
is adding a file, with no list to edit."""
from __future__ import annotations

import importlib
import pkgutil


def import_all(package: str, path, skip=("base",)) -> None:
    """Import every module of `package` (its `__path__`) except `skip` and private ones."""
    for m in pkgutil.iter_modules(path):
        if m.name not in skip and not m.name.startswith("_"):
            importlib.import_module(f"{package}.{m.name}")
