"""The kernel kind is the unit of extension: core.hw.kernels registers each kind (mapping,
memories, cycle behaviour, work bound), every backend spells each kind once in its own
kernels/ package, and the code that iterates over a design's processes (the writers, the cycle
model, the comparison) names no kind: it asks the kind's kernel or spelling."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.hw.kernels import REGISTRY
from hls.kernels import spelled_kinds as hls_kinds
from rtl.kernels import spelled_kinds as rtl_kinds

ROOT = Path(__file__).resolve().parents[1]
KIND_FREE = ["hls/writer.py", "rtl/writer.py", "core/hw/cycles.py", "core/compare.py",
             "hls/csim.py", "rtl/simulate.py", "rtl/sim.py"]


@pytest.mark.parametrize("backend,kinds", [("hls", hls_kinds), ("rtl", rtl_kinds)])
def test_every_kernel_kind_has_one_spelling_in_each_backend(backend, kinds):
    assert sorted(kinds()) == sorted(REGISTRY), backend


@pytest.mark.parametrize("path", KIND_FREE)
def test_the_code_over_processes_names_no_kernel_kind(path):
    """No string constant is a kind's name (an `if p.kernel == "conv_event"` switch)."""
    tree = ast.parse((ROOT / path).read_text())
    named = {n.value for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and isinstance(n.value, str)} & set(REGISTRY)
    assert not named, f"{path} switches on kernel kinds {sorted(named)}"


def test_a_missing_spelling_is_named():
    from hls.kernels import spelling as hls_spelling
    from rtl.kernels import spelling as rtl_spelling
    for spelling, where in ((hls_spelling, "hls/kernels/"), (rtl_spelling, "rtl/kernels/")):
        with pytest.raises(ValueError, match=f"no .* spelling of kernel kind 'conv_fancy'.*{where}"):
            spelling("conv_fancy")
