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


@pytest.fixture
def twin_kind():
    """A trivial new kernel kind, `pool_or_twin`, standing in for pool_or: what a new variant
    takes (a core kernel, an HLS and an RTL spelling), registered here and removed after."""
    from core.hw.kernels.base import register as core_register
    from core.hw.kernels.pool import PoolOr
    from hls.kernels import base as hls_base
    from hls.kernels.pool import PoolOr as HLSPoolOr
    from rtl.kernels import base as rtl_base
    from rtl.kernels.pool import PoolOr as RTLPoolOr

    @core_register
    class Twin(PoolOr):
        name, variant_of = "pool_or_twin", "pool_or"

    @hls_base.register
    class HLSTwin(HLSPoolOr):
        kind = "pool_or_twin"
        function = "pool_or"

    @rtl_base.register
    class RTLTwin(RTLPoolOr):
        kind = "pool_or_twin"

    yield "pool_or_twin"
    for reg in (REGISTRY, hls_base._SPELLINGS, rtl_base._SPELLINGS):
        reg.pop("pool_or_twin")


def test_a_variant_kind_is_chosen_per_layer_and_spelled_by_its_own_files(twin_kind, tmp_path):
    """settings.layers.pool1.kernel picks the variant: the design, both projects and the cycle
    model follow it, and everything else of the generated hardware is unchanged."""
    from core.hw import cycles
    from core.hw.mapping import design_of
    from core.random_ir import random_network
    from hls import writer as hls_writer
    from rtl import writer as rtl_writer
    net = random_network("c8 p2 c16 p2 r", seed=4)
    base = design_of(net)
    twin = design_of(net, overrides={"layers": {"pool1": {"kernel": twin_kind}}})
    assert [p.kernel for p in twin.processes if p.layer.name == "pool1"] == [twin_kind]
    assert twin.settings["layers"]["pool1"] == {"kernel": twin_kind}
    assert cycles.analytic(twin)["cycles_per_image"] == cycles.analytic(base)["cycles_per_image"]
    for writer in (hls_writer, rtl_writer):
        a, b = writer.render(base), writer.render(twin)
        assert set(a) == set(b)
        for name in a:
            if name.endswith((".json", ".md")):
                continue
            diff = [(x, y) for x, y in zip(a[name].splitlines(), b[name].splitlines()) if x != y]
            assert all(twin_kind in y for _, y in diff), (writer.__name__, name, diff[:3])
