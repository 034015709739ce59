"""C simulation of generated HLS projects equals the golden model, to the bit.

Real Fashion-MNIST test images plus extreme inputs (all 0, all 255, noise) through random IRs of
several shapes, weight widths, leaks, timesteps, thresholds, lane settings and extreme weights.
Every image must give the golden class, every accumulator and, for every spike map and
timestep, the golden spike count. Binaries are cached per session by source hash.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import fmnist_test, random_ir

from hls import golden_check
from hls.project import HLSProject
from quant import golden
from quant import ir as IR


@pytest.fixture(scope="session")
def csim_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("csim_cache")


@pytest.fixture(scope="session")
def images():
    codes, _ = fmnist_test(150)
    shape = codes.shape[1:]
    noise = np.random.default_rng(7).integers(0, 256, (2, *shape), dtype=np.uint8)
    extremes = np.stack([np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8)])
    return np.concatenate([codes, extremes, noise])


def check_bit_exact(tmp_path, cache, model, weights, codes, overrides=None):
    p = HLSProject.from_ir(model, weights, tmp_path / "prj", overrides=overrides, cache_dir=cache)
    r = p.run(codes, trace=True)
    acc, pred, spikes = golden_check.golden_spike_counts(model, weights, codes)
    assert r.acc.dtype == np.int64 and r.acc.shape == acc.shape
    np.testing.assert_array_equal(r.acc, acc)
    np.testing.assert_array_equal(r.pred, pred)
    np.testing.assert_array_equal(r.spikes, spikes)
    # the slices of a map never outnumber its spikes, and spikes happen at all in dense nets
    assert (r.tokens <= r.spikes).all()
    p_acc, p_pred = p.predict(codes[:8])
    np.testing.assert_array_equal(p_acc, acc[:8])
    np.testing.assert_array_equal(p_pred, pred[:8])
    return r, spikes


def firing_rates(model, spikes):
    """Mean fraction of neurons firing per timestep, per spike map."""
    maps = [L for L in model["layers"] if L["kind"] in ("conv", "dense", "pool")]
    return [spikes[:, i].mean() / np.prod(L["out_shape"]) for i, L in enumerate(maps)]


def test_default_network_4bit_fmnist_bit_exact(tmp_path, csim_cache, images):
    model, weights = random_ir(quant="4bit", seed=0)
    r, spikes = check_bit_exact(tmp_path, csim_cache, model, weights, images)
    assert min(firing_rates(model, spikes)) > 0.01     # the comparison covered real spiking
    # the test bench's own check against the golden outputs written at generation
    import subprocess
    run = subprocess.run([str(HLSProject(tmp_path / "prj", csim_cache).compile())],
                         cwd=tmp_path / "prj", capture_output=True, text=True)
    assert run.returncode == 0 and "4 images, 0 mismatches" in run.stdout


@pytest.mark.parametrize("quant", ["2bit", "8bit"])
def test_default_network_other_weight_widths(tmp_path, csim_cache, images, quant):
    model, weights = random_ir(quant=quant, seed=1)
    check_bit_exact(tmp_path, csim_cache, model, weights, images[:60])


@pytest.mark.parametrize("kw", [
    dict(layers=["c8", "p2", "f32", "r"], timesteps=4, leak_shift=1, v_th=0.05, seed=2),  # dense
    dict(layers=["c8", "p2", "f32", "r"], timesteps=8, leak_shift=5, v_th=2.0, seed=3),   # sparse
    dict(layers=["c4", "c6", "p3", "f20", "f12", "r"], leak_shift=5, v_th=0.1, seed=4),   # crop
    dict(layers=["f32", "r"], quant="8bit", leak_shift=1, seed=5),   # dense layer on the codes
    dict(layers=["r"], quant="2bit", timesteps=4, seed=6),           # readout on the codes
], ids=["c8-p2-f32-T4-leak1-dense", "c8-p2-f32-T8-leak5-sparse", "c4-c6-p3-f20-f12",
        "f32-direct", "readout-only"])
def test_other_shapes(tmp_path, csim_cache, images, kw):
    model, weights = random_ir(**kw)
    check_bit_exact(tmp_path, csim_cache, model, weights, images[:120])


def test_dense_and_sparse_thresholds_reach_both_regimes(tmp_path, csim_cache, images):
    """v_th picks the regime: the same shape spikes densely at 0.05 and rarely at 2.0."""
    rates = {}
    for v_th in (0.05, 2.0):
        model, weights = random_ir(layers=["c8", "p2", "f32", "r"], v_th=v_th, seed=3)
        _, spikes = check_bit_exact(tmp_path / str(v_th), csim_cache, model, weights, images[:60])
        rates[v_th] = firing_rates(model, spikes)[0]
    assert rates[0.05] > 0.1 and rates[2.0] < 0.01


def test_lanes_that_do_not_divide_the_outputs(tmp_path, csim_cache, images):
    """Padded lanes and channels (16 = 4 x 5 - 4, 32 = 5 x 7 - 3, 10 = 4 x 3 - 2) stay silent."""
    model, weights = random_ir(seed=8)
    overrides = {"layers": {"conv1": {"lanes": 5}, "conv2": {"lanes": 7}, "readout": {"lanes": 3}}}
    check_bit_exact(tmp_path, csim_cache, model, weights, images[:60], overrides)


def extreme(model, weights, pattern):
    """The IR with every weight at +max, or output channels alternately all +max and all -max
    ("split": both extremes in one network), or a +max/-max checkerboard; widths re-derived."""
    out = {}
    for L in model["layers"]:
        if "weights" not in L:
            continue
        lim = (1 << (L["weight_bits"] - 1)) - 1
        w = weights[L["weights"]]
        if pattern == "+max":
            out[L["weights"]] = np.full_like(w, lim)
        elif pattern == "split":
            sign = np.where(np.arange(w.shape[0]) % 2 == 0, 1, -1).reshape(-1, *[1] * (w.ndim - 1))
            out[L["weights"]] = (sign * np.full_like(w, lim)).astype(w.dtype)
        else:
            sign = np.where(np.indices(w.shape).sum(0) % 2 == 0, 1, -1)
            out[L["weights"]] = (sign * lim).astype(w.dtype)
    model = IR.annotate_widths(model, out)
    IR.validate(model, out)
    return model, out


@pytest.mark.parametrize("quant,pattern", [("2bit", "split"), ("8bit", "split"),
                                           ("4bit", "checker")])
def test_extreme_weights_small_network(tmp_path, csim_cache, images, quant, pattern):
    model, weights = extreme(*random_ir(quant=quant, layers=["c4", "p2", "f16", "r"],
                                        timesteps=4, seed=11), pattern)
    _, spikes = check_bit_exact(tmp_path, csim_cache, model, weights, images[-40:])
    if pattern == "split":  # the +max channels fire on bright images, the -max ones never
        assert spikes[:, 0].max() > 0


def test_extreme_weights_default_network_widest_registers(tmp_path, csim_cache, images):
    model, weights = extreme(*random_ir(quant="8bit", seed=9), "+max")
    assert max(L.get("acc_bits", 0) for L in model["layers"]) > 20
    r, _ = check_bit_exact(tmp_path, csim_cache, model, weights, images[-30:])
    assert (r.acc[-4:-2] == golden.predict(model, weights, images[-4:-2])[0]).all()


def test_compiles_with_ap_int_weight_tables_and_cxx11(tmp_path):
    """The synthesis path (ap_int weight tables) and Vivado HLS's C++0x dialect also compile."""
    import subprocess

    from hls import project as P
    model, weights = random_ir(layers=["c2", "p4", "r"], seed=10)
    p = HLSProject.from_ir(model, weights, tmp_path / "prj")
    flags = [f for f in P.CXXFLAGS if f not in ("-DHIRE_SNN_INT_WEIGHTS", "-std=c++14")]
    cmd = [P.CXX, "-std=c++11", *flags, "-I", str(P.ap_types_dir()), "-I", str(p.path),
           str(p.path / "firmware" / "hire_snn.cpp"), str(p.path / "tb_hire_snn.cpp"),
           "-o", str(tmp_path / "tb")]
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    run = subprocess.run([str(tmp_path / "tb")], cwd=p.path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "0 mismatches" in run.stdout
