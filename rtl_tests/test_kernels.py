"""Each RTL kernel alone against the golden model, token by token.

A kernel is simulated between the stream harness and its output FIFO (rtl.writer.write_process)
on random stimuli with the extremes (all-spike and silent maps, maximum codes, weights at the
narrow-range limits), parametrized over lanes (one or several output groups), weight and so
register widths, kernel size and timesteps. Its output words must be the golden model's
tokens in the order core.compare fixes (raster order for a fire pass, arrival order for a
pool), with the end-of-timestep tokens, and nothing more. Random back-pressure and gaps are on
for half of the cases.
"""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.generated_rtl

from core import compare, golden
from core import ir as IR
from core.hw.mapping import MAX_BITS
from core.network import Network
from core.random_ir import extreme, random_network
from rtl import writer
from rtl.sim import RTLProject
from rtl.verilator import find_verilator
from rtl_tests.tokens import (as_list, current_words, decode, lif_maps, map_tokens,
                              token_words)

T_DEFAULT = 8


def spike_maps(rng, T, n, shape, rates=(0.02, 0.15, 0.4)):
    """(T, n + 2, C, H, W): random maps at several rates, then an all-spike and a silent image."""
    maps = [(rng.random((T, 1, *shape)) < rates[i % len(rates)]).astype(np.uint8)
            for i in range(n)]
    maps += [np.ones((T, 1, *shape), np.uint8), np.zeros((T, 1, *shape), np.uint8)]
    return np.concatenate(maps, axis=1)


def run_tokens(prj, in_words, expected_per_image, out_map, gaps, seed=1):
    n_out = sum(len(t) + 1 for img in expected_per_image for t in img)
    out, _, _ = prj.stream_words(np.array(in_words, dtype=object), n_out, gaps=gaps, seed=seed,
                                 drain_cycles=300)
    got = decode(out_map, out)
    want = [t for img in expected_per_image for t in img]
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"timestep {k}: first difference at token " \
                       f"{next(i for i, (a, b) in enumerate(zip(g + [None], w + [None])) if a != b)}"


@pytest.mark.parametrize("layers,kernel,pad,bits,T,lanes,pattern,gaps", [
    ("c16 p2 c32 p2 r", 3, 1, 4, 8, 16, None, False),     # fmnist-conv's conv2: 2 output groups
    ("c8 p2 c12 p2 r", 5, 2, 2, 3, 4, None, True),        # K = 5, 3 groups, 2-bit, T = 3
    ("c8 p2 c16 p2 r", 3, 1, 8, 4, 16, "+max", True),     # one group (distance-1 RMW), +max
], ids=["default-k3", "k5-2bit-T3-gaps", "k3-8bit-max-gaps"])
def test_conv_event(projects, design, layers, kernel, pad, bits, T, lanes, pattern, gaps):
    net = random_network(layers, weight_bits=bits, timesteps=T, kernel=kernel, padding=pad,
                         seed=5)
    if pattern:
        net = extreme(net, pattern)
    d = design(net, layers={"conv2": {"lanes": lanes}})
    p = d.process("conv2")
    src, out = p.in_stream.spikes, p.out_stream.spikes
    rng = np.random.default_rng(11)
    maps = spike_maps(rng, T, 3, (src.channels, src.height, src.width))
    L = p.layer
    cur = golden.conv_int(maps.reshape(-1, *maps.shape[2:]), L.weights, L.padding)
    spikes = lif_maps(cur.reshape(T, maps.shape[1], *cur.shape[1:]), L, T, direct=False)
    in_words = [w for img in map_tokens(maps, src) for w in token_words(src, img)]
    expected = [as_list(img) for img in map_tokens(spikes, out)]
    assert sum(len(t) for img in expected for t in img) > 0
    run_tokens(projects(d, "conv2"), in_words, expected, out, gaps)


def test_conv_event_scatter_right_after_the_fire_pass(projects, design):
    """One output group, and every timestep's only input spike at the bottom-right corner: the
    next timestep's first scatter reads the word the fire pass wrote last, as soon as the pass
    ends. The DRAIN cycles after the end-of-timestep token keep it from reading that word
    before the fire pass's write has landed."""
    net = random_network("c8 p2 c16 p2 r", weight_bits=8, timesteps=6, seed=5, v_th=0.3)
    d = design(net, layers={"conv2": {"lanes": 16}})
    p = d.process("conv2")
    assert p.params["groups"] == 1
    src, out, L, T = p.in_stream.spikes, p.out_stream.spikes, p.layer, d.timesteps
    maps = np.zeros((T, 2, src.channels, src.height, src.width), np.uint8)
    maps[:, :, :, -1, -1] = 1
    cur = golden.conv_int(maps.reshape(-1, *maps.shape[2:]), L.weights, L.padding)
    spikes = lif_maps(cur.reshape(T, maps.shape[1], *cur.shape[1:]), L, T, direct=False)
    in_words = [w for img in map_tokens(maps, src) for w in token_words(src, img)]
    expected = [as_list(img) for img in map_tokens(spikes, out)]
    assert sum(len(t) for img in expected for t in img) > 0
    run_tokens(projects(d, "conv2"), in_words, expected, out, False)


@pytest.mark.parametrize("layers,lanes,shuffle,gaps", [
    ("c16 p2 c32 p2 r", 16, False, False),
    ("c6 c8 p3 r", 4, True, True),      # pool 3 with cropping (8 -> 2 of 8 rows), 2 groups
], ids=["default-pool1", "p3-crop-shuffled-gaps"])
def test_pool_or(projects, design, layers, lanes, shuffle, gaps):
    """Arrival order decides which slice carries a pooled spike: shuffled inputs make the same
    entry recur at distance 1 and beyond (the read-modify-write forwarding)."""
    net = random_network(layers, in_shape=(1, 10, 10) if "p3" in layers else (1, 28, 28), seed=3)
    first_conv = [L.name for L in net.layers if L.kind == "conv"][-1]
    d = design(net, layers={first_conv: {"lanes": lanes}})
    p = next(q for q in d.processes if q.kernel == "pool_or")
    src, out = p.in_stream.spikes, p.out_stream.spikes
    rng = np.random.default_rng(4)
    maps = spike_maps(rng, d.timesteps, 3, (src.channels, src.height, src.width))
    imgs = map_tokens(maps, src)
    if shuffle:
        imgs = [[toks[rng.permutation(len(toks))] for toks in img] for img in imgs]
    in_words = [w for img in imgs for w in token_words(src, img)]
    size, oh, ow = p.params["size"], p.params["out_h"], p.params["out_w"]
    expected = [[[tuple(r[:4]) for r in compare.pool_tokens(toks, size, oh, ow).tolist()]
                 for toks in img] for img in imgs]
    run_tokens(projects(d, p.name), in_words, expected, out, gaps)


def widest_membrane(net, threshold=None):
    """`net` (with `threshold` on every LIF layer) whose membrane registers are declared
    MAX_BITS wide: the widest the IR may state that the kernels take."""
    model, weights = net.model, dict(net.weights)
    for L in model["layers"]:
        if threshold is not None and "threshold" in L:
            L["threshold"] = threshold
    IR.annotate_widths(model, weights)
    for L in model["layers"]:
        if "membrane_bits" in L:
            L["membrane_bits"] = MAX_BITS
    return Network(model, weights)


@pytest.mark.parametrize("layers,bits,lanes,T,leak,gaps,wide", [
    ("c16 p2 c32 p2 r", 4, 16, 8, 3, False, False),
    ("c12 p2 r", 8, 5, 5, 1, True, False),   # lanes that do not divide: a padded group
    ("c8 p2 r", 4, 8, 4, 2, True, True),     # a 32-bit membrane (1 << 31 overflows an int)
], ids=["default-conv1", "8bit-lanes5-T5-leak1-gaps", "membrane32-gaps"])
def test_lif_direct(projects, design, layers, bits, lanes, T, leak, gaps, wide):
    net = random_network(layers, weight_bits=bits, timesteps=T, leak_shift=leak, seed=6)
    if wide:
        net = widest_membrane(net)
        assert net.layers[0].membrane_bits == MAX_BITS
    d = design(net, layers={"conv1": {"lanes": lanes}})
    p = d.process("conv1")
    L, out = p.layer, p.out_stream.spikes
    rng = np.random.default_rng(2)
    codes = np.concatenate([rng.integers(0, 256, (3, *net.in_shape), dtype=np.uint8),
                            np.full((1, *net.in_shape), 255, np.uint8),
                            np.zeros((1, *net.in_shape), np.uint8)])
    cur = golden.conv_int(codes, L.weights, L.padding)
    in_words = current_words(cur, lanes, L.current_bits)
    expected = [as_list(img) for img in map_tokens(lif_maps(cur, L, T, direct=True), out)]
    run_tokens(projects(d, "conv1"), in_words, expected, out, gaps)


@pytest.mark.parametrize("layers,lanes,taps,geometry,gaps", [
    ("c16 p2 c32 p2 r", 16, 1, None, False),
    ("c5 p2 r", 2, 1, None, True),                   # 3 groups, a padded lane
    ("c16 p2 c32 p2 r", 16, 9, None, True),         # the window per cycle: 9 banks
    ("c5 p2 r", 2, 3, None, False),                 # a kernel row per cycle, 3 groups
    # 2 channels, 5x5 kernel, an odd frame: 25 taps per cycle, every bank row / column
    # remainder at the borders, padded rows read past the last written one
    ("c6 p3 r", 4, 25, dict(in_shape=(2, 13, 11), kernel=5, padding=2), True),
    ("c6 p3 r", 3, 5, dict(in_shape=(2, 13, 11), kernel=5, padding=2), False),
    # 8 x 8 (digits): a power-of-two frame, so an unbanked tap's row -1 aliases row 7 and
    # only the padding mask keeps it out
    ("c4 p2 r", 4, 1, dict(in_shape=(1, 8, 8)), True),
    ("c4 p2 r", 4, 3, dict(in_shape=(1, 8, 8)), False),
], ids=["default", "lanes2-gaps", "taps9-gaps", "taps3-groups3", "k5-c2-taps25-gaps",
        "k5-c2-taps5", "8x8-taps1-gaps", "8x8-taps3"])
def test_conv_direct_current(projects, design, layers, lanes, taps, geometry, gaps):
    check_direct_current(projects, design, layers, lanes, taps, geometry, gaps)


@pytest.mark.parametrize("layers,lanes,taps,gaps", [
    ("c16 p2 c32 p2 r", 16, 1, True),
    ("c16 p2 c32 p2 r", 16, 9, False),
], ids=["default-gaps", "taps9"])
def test_conv_direct_current_on_ecp5_dsp_registers(projects, design, layers, lanes, taps, gaps):
    """The ECP5 variant (MULT18X18D with its input and output registers, on its behavioural
    model) in place of the generic multiplier: the same words, to the bit."""
    check_direct_current(projects, design, layers, lanes, taps, None, gaps, variant="ecp5")


def check_direct_current(projects, design, layers, lanes, taps, geometry, gaps, variant=None):
    net = random_network(layers, weight_bits=8, seed=7, **(geometry or {}))
    d = design(net, layers={"conv1": {"lanes": lanes, "taps": taps}})
    p = d.process("conv1_current")
    L = p.layer
    rng = np.random.default_rng(3)
    codes = np.concatenate([rng.integers(0, 256, (2, *net.in_shape), dtype=np.uint8),
                            np.full((1, *net.in_shape), 255, np.uint8)])
    words = []
    for img in codes.reshape(len(codes), -1):
        words += [int(c) | ((i == len(img) - 1) << 8) for i, c in enumerate(img)]
    want = current_words(golden.conv_int(codes, L.weights, L.padding), lanes, L.current_bits)
    prj = projects(d, p.name)
    if variant is not None:
        assert not any(s.parent.name == variant for s in RTLProject(prj.path).sources)
        prj = RTLProject(prj.path, prj.build_root, variant=variant)
        assert prj.path / f"hdl/{variant}/snn_mul_reg.sv" in prj.sources
    out, _, _ = prj.stream_words(np.array(words, dtype=np.uint64), len(want), gaps=gaps,
                                 drain_cycles=300)
    assert [int(w) for w in out] == want


@pytest.mark.parametrize("layers,lanes,gaps", [
    ("c8 p2 f24 r", 8, False),             # 3 output groups
    ("c8 p2 f24 r", 24, True),             # one group: the same word every cycle
    ("c8 p2 f24 r", 12, False),            # two groups: the same word at distance 2
], ids=["groups3", "groups1-gaps", "groups2"])
def test_dense_event(projects, design, layers, lanes, gaps):
    net = random_network(layers, seed=8, v_th=0.5)
    d = design(net, layers={"dense1": {"lanes": lanes}})
    p = d.process("dense1")
    src, out, L = p.in_stream.spikes, p.out_stream.spikes, p.layer
    rng = np.random.default_rng(5)
    T = d.timesteps
    maps = spike_maps(rng, T, 3, (src.channels, src.height, src.width))
    cur = golden.dense_int(maps.reshape(T * maps.shape[1], -1), L.weights)
    spikes = lif_maps(cur.reshape(T, maps.shape[1], -1), L, T, direct=False)
    in_words = [w for img in map_tokens(maps, src) for w in token_words(src, img)]
    expected = [as_list(img) for img in map_tokens(spikes, out)]
    run_tokens(projects(d, "dense1"), in_words, expected, out, gaps)


@pytest.mark.parametrize("bits,lanes,gaps", [(4, 10, False), (8, 3, True)],
                         ids=["default", "8bit-lanes3-gaps"])
def test_readout_event(projects, design, bits, lanes, gaps):
    net = random_network("c16 p2 c32 p2 r", weight_bits=bits, seed=9)
    d = design(net, layers={"readout": {"lanes": lanes}})
    p = d.process("readout")
    src, L, T = p.in_stream.spikes, p.layer, d.timesteps
    rng = np.random.default_rng(6)
    maps = spike_maps(rng, T, 4, (src.channels, src.height, src.width))
    n = maps.shape[1]
    acc = golden.dense_int(maps.reshape(T * n, -1), L.weights, np.int64).reshape(T, n, -1).sum(0)
    acc[-1] = 0                                      # the silent image: all ties, class 0
    in_words = [w for img in map_tokens(maps, src) for w in token_words(src, img)]
    out, _, _ = projects(d, "readout").stream_words(np.array(in_words, dtype=object),
                                                     n * (net.classes + 1), gaps=gaps,
                                                     drain_cycles=300)
    words = np.array([int(w) for w in out], np.int64).reshape(n, -1)
    assert (words[:, :-1] >> 32 == 0).all() and (words[:, -1] >> 32 == 1).all()   # TLAST
    data = words & 0xFFFFFFFF
    np.testing.assert_array_equal(data[:, 0], np.argmax(acc, 1))
    np.testing.assert_array_equal(np.where(data[:, 1:] >= 2**31, data[:, 1:] - 2**32,
                                           data[:, 1:]), acc)


@pytest.mark.parametrize("process", ["conv1", "conv2", "dense1"])
def test_the_widest_membrane_and_threshold_elaborate_lint_clean(tmp_path, design, process):
    """32-bit membranes with a threshold the hardware clamps to 2^31 (never reached): the
    kernels take TH = 2^31, which no int parameter holds (rtl.writer passes it sized), and
    lint clean (a truncated or negative TH would fire every neuron)."""
    net = widest_membrane(random_network("c8 p2 c8 p2 f12 r", timesteps=3, seed=4),
                          threshold=1 << 40)
    d = design(net)
    p = d.process(process)
    assert p.params["threshold"] == 1 << (MAX_BITS - 1)
    prj = writer.write_process(d, process, tmp_path / "prj")
    meta = json.loads((prj / "project.json").read_text())
    srcs = [str(prj / s) for s in meta["sources"]] + [str(prj / "hdl" / "dut_top.sv")]
    r = subprocess.run([find_verilator(), "--lint-only", "-Wall", "--top-module", "dut_top",
                        *srcs], cwd=prj, capture_output=True, text=True)
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-3000:]
