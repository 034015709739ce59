"""C simulation of generated HLS projects equals the golden model, to the bit.

Real Fashion-MNIST test images plus extreme inputs (all 0, all 255, noise) through torch-free
random IRs (core.random_ir) of several shapes, weight widths, leaks, timesteps, thresholds, lane
settings and extreme weights. Every image must give the golden class, every accumulator and, for
every spike stream and timestep, the golden slice and spike counts. Binaries are cached per
session by source hash.
"""
from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import fmnist_test

from core import compare, golden
from core.frames import frame_image
from core.hw.mapping import design_of
from core.random_ir import extreme, random_network
from hls.project import HLSProject


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


def check_bit_exact(tmp_path, cache, net, codes, overrides=None):
    p = HLSProject.from_ir(net, tmp_path / "prj", overrides=overrides, cache_dir=cache)
    r = p.run(codes, trace=True)
    design = design_of(net, overrides=overrides)
    g = compare.golden_tokens(design, codes)
    slices, spikes = g.counts(design)
    assert r.acc.dtype == np.int64 and r.acc.shape == g.acc.shape
    # class, accumulators, error bit, and every stream's slices and spikes per timestep (the
    # token order of every pool, too)
    cmp = compare.compare(design, codes, r, golden_result=g)
    assert cmp.bit_exact and cmp.spikes_equal, "\n".join(cmp.mismatch_lines(r, "csim"))
    # the slices of a map never outnumber its spikes
    assert (r.slices <= r.spikes).all()
    p_acc, p_pred = p.predict(codes[:8])
    np.testing.assert_array_equal(p_acc, g.acc[:8])
    np.testing.assert_array_equal(p_pred, g.pred[:8])
    return r, spikes


def firing_rates(net, spikes):
    """Mean fraction of neurons firing per timestep, per spike map."""
    maps = [L for L in net.layers if L.kind in ("conv", "dense", "pool")]
    return [spikes[:, i].mean() / np.prod(L.out_shape) for i, L in enumerate(maps)]


def test_default_network_4bit_fmnist_bit_exact(tmp_path, csim_cache, images):
    net = random_network(weight_bits=4, seed=0)
    r, spikes = check_bit_exact(tmp_path, csim_cache, net, images)
    assert min(firing_rates(net, spikes)) > 0.01     # the comparison covered real spiking
    # the test bench's own check against the golden outputs written at generation
    import subprocess
    run = subprocess.run([str(HLSProject(tmp_path / "prj", csim_cache).compile())],
                         cwd=tmp_path / "prj", capture_output=True, text=True)
    assert run.returncode == 0 and "4 images, 0 mismatches" in run.stdout


@pytest.mark.parametrize("bits", [2, 8])
def test_default_network_other_weight_widths(tmp_path, csim_cache, images, bits):
    check_bit_exact(tmp_path, csim_cache, random_network(weight_bits=bits, seed=1), images[:60])


@pytest.mark.parametrize("kw", [
    dict(layers="c8 p2 f32 r", timesteps=4, leak_shift=1, v_th=0.05, seed=2),  # dense
    dict(layers="c8 p2 f32 r", timesteps=8, leak_shift=5, v_th=3.0, seed=3),   # sparse
    dict(layers="c4 c6 p3 f20 f12 r", leak_shift=[1, 5, 2, 4], v_th=0.3, seed=4),  # crop, leaks
    dict(layers="f32 r", weight_bits=8, leak_shift=1, seed=5),   # dense layer on the codes
    dict(layers="r", weight_bits=2, timesteps=4, seed=6),        # readout on the codes
], ids=["c8-p2-f32-T4-leak1-dense", "c8-p2-f32-T8-leak5-sparse", "c4-c6-p3-f20-f12-leaks",
        "f32-direct", "readout-only"])
def test_other_shapes(tmp_path, csim_cache, images, kw):
    check_bit_exact(tmp_path, csim_cache, random_network(**kw), images[:120])


def test_dense_and_sparse_thresholds_reach_both_regimes(tmp_path, csim_cache, images):
    """v_th picks the regime: the same shape spikes densely at 0.05 and rarely at 3.0."""
    rates = {}
    for v_th in (0.05, 3.0):
        net = random_network("c8 p2 f32 r", v_th=v_th, seed=3)
        _, spikes = check_bit_exact(tmp_path / str(v_th), csim_cache, net, images[:60])
        rates[v_th] = firing_rates(net, spikes)[0]
    assert rates[0.05] > 0.1 and rates[3.0] < 0.05


def test_lanes_that_do_not_divide_the_outputs(tmp_path, csim_cache, images):
    """Padded lanes and channels (16 = 4 x 5 - 4, 32 = 5 x 7 - 3, 10 = 4 x 3 - 2) stay silent."""
    overrides = {"layers": {"conv1": {"lanes": 5}, "conv2": {"lanes": 7}, "readout": {"lanes": 3}}}
    check_bit_exact(tmp_path, csim_cache, random_network(seed=8), images[:60], overrides)


@pytest.mark.parametrize("taps", [3, 9])
def test_taps_per_cycle_in_the_first_conv(tmp_path, csim_cache, images, taps):
    """A kernel row or the whole window per cycle (the frame partitioned cyclically), with
    lanes that do not divide the outputs: the same bits."""
    overrides = {"layers": {"conv1": {"lanes": 5, "taps": taps}}}
    check_bit_exact(tmp_path, csim_cache, random_network(seed=9), images[:60], overrides)


@pytest.mark.parametrize("bits,pattern", [(2, "split"), (8, "split"), (4, "checker")])
def test_extreme_weights_small_network(tmp_path, csim_cache, images, bits, pattern):
    net = extreme(random_network("c4 p2 f16 r", weight_bits=bits, timesteps=4, seed=11), pattern)
    _, spikes = check_bit_exact(tmp_path, csim_cache, net, images[-40:])
    if pattern == "split":  # the +max channels fire on bright images, the -max ones never
        assert spikes[:, 0].max() > 0


def test_extreme_weights_default_network_widest_registers(tmp_path, csim_cache, images):
    net = extreme(random_network(weight_bits=8, seed=9), "+max")
    assert net.readout.acc_bits > 20
    r, _ = check_bit_exact(tmp_path, csim_cache, net, images[-30:])
    assert (r.acc[-4:-2] == golden.predict(net, images[-4:-2])[0]).all()


def test_malformed_frames_are_flagged_and_the_next_image_is_right(tmp_path, csim_cache, images):
    """TLAST early (zero-filled) or late (truncated): the class word's error bit, the golden
    result of the frame as the hardware reads it, and the frames around it unaffected."""
    net = random_network("c8 p2 f32 r", seed=12)
    p = HLSProject.from_ir(net, tmp_path / "prj", cache_dir=csim_cache)
    flat = images[:6].reshape(6, -1)
    frames = [flat[0], flat[1][:300], flat[2], np.concatenate([flat[3], flat[4][:50]]), flat[5],
              flat[4][:1]]
    r = p.run_frames(frames)
    want = np.stack([frame_image(f, net.n_inputs)[0] for f in frames]).reshape(-1, *net.in_shape)
    acc, pred = golden.predict(net, want)
    assert r.error.tolist() == [False, True, False, True, False, True]
    np.testing.assert_array_equal(r.acc, acc)
    np.testing.assert_array_equal(r.pred, pred)


@pytest.mark.parametrize("layers,stateful", [("c8 p2 c8 p2 f16 r", True), ("r", False)],
                         ids=["conv-pool-dense-readout", "readout-only"])
def test_reset_in_mid_image_then_the_next_image_is_bit_exact(tmp_path, csim_cache, images,
                                                             layers, stateful):
    """ap_rst_n in the middle of an image (C-sim: every process stops at the start of timestep
    K, then the reset): each image after it equals the golden model, to the bit, in class,
    accumulators and every map's per-timestep slice and spike counts, for an early, a middle and
    the last cut (K = T: only the accumulators are left). The same frames without the resets
    give wrong images: the cut-off image leaves membranes, pool stamps and accumulators dirty,
    and only the sweep after ap_rst_n clears them."""
    T = 4
    net = random_network(layers, timesteps=T, v_th=0.3, seed=13)
    p = HLSProject.from_ir(net, tmp_path / "prj", cache_dir=csim_cache)
    codes = images[:10]
    frames = list(codes.reshape(len(codes), -1))
    aborts = {1: 1, 3: T // 2, 5: T}             # cut off at these timesteps ...
    resets = {2, 4, 6, 8}                         # ... then ap_rst_n; 8: a reset between images
    done = [i for i in range(len(frames)) if i not in aborts]
    design = design_of(net)
    g = compare.golden_tokens(design, codes[done])
    slices, spikes = g.counts(design)
    with pytest.raises(ValueError, match="timestep 1..4"):
        p.run_frames(frames, aborts={0: 0})
    r = p.run_frames(frames, aborts=aborts, resets=resets)
    np.testing.assert_array_equal(r.acc, g.acc)
    np.testing.assert_array_equal(r.pred, g.pred)
    np.testing.assert_array_equal(r.spikes, spikes)
    np.testing.assert_array_equal(r.slices, slices)
    # control: without the resets, every image right after a cut-off one is wrong
    wrong = (p.run_frames(frames, aborts=aborts).acc != g.acc).any(axis=1)
    if stateful:
        assert wrong[[done.index(i + 1) for i in aborts]].all(), wrong
    else:   # readout_direct writes every accumulator before reading it: nothing to clear
        assert not wrong.any()


def test_compiles_with_ap_int_weight_tables_and_cxx11(tmp_path):
    """The synthesis path (ap_int weight tables) and Vivado HLS's C++0x dialect also compile."""
    import subprocess

    from hls import project as P
    p = HLSProject.from_ir(random_network("c2 p4 r", seed=10), tmp_path / "prj")
    flags = [f for f in P.CXXFLAGS if f not in ("-DHIRE_SNN_INT_WEIGHTS", "-std=c++14")]
    cmd = [P.CXX, "-std=c++11", *flags, "-I", str(P.ap_types_dir()), "-I", str(p.path),
           str(p.path / "firmware" / "hire_snn.cpp"), str(p.path / "tb_hire_snn.cpp"),
           "-o", str(tmp_path / "tb")]
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    run = subprocess.run([str(tmp_path / "tb")], cwd=p.path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "0 mismatches" in run.stdout
