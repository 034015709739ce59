"""Folding to a target (core.hw.folding) on the calibrated area model (core.hw.area): the
cheapest folding that meets the target, checked against every folding of a small network; a
tighter target never slower; an unreachable target named with its fastest folding; the
command line writing what it chose into the project."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import GeneratorError
from core.hw import config, cycles, folding
from core.hw.area import AreaModel
from core.hw.mapping import build, design_of
from core.random_ir import random_network

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def net():
    return random_network("c4 p2 c6 p2 r", classes=4, seed=3)    # 3 x 3 x 4 x 3 foldings


@pytest.fixture(scope="module")
def codes(fmnist_codes):
    return fmnist_codes[0][:2]                  # two Fashion-MNIST test images


def settings(**kw):
    return config.load(overrides=kw)


def test_lane_options_are_the_fewest_lanes_of_each_group_count():
    for n in (1, 7, 10, 16, 48):
        opts = folding.lane_options(n)
        groups = [-(-n // k) for k in opts]
        assert sorted(set(groups), reverse=True) == groups     # one option per group count
        assert set(groups) == {-(-n // k) for k in range(1, n + 1)}
        for k, g in zip(opts, groups):
            assert all(-(-n // j) != g for j in range(1, k))    # no fewer lanes do it
    assert folding.lane_options(48) == [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 48]


def test_block_ram_follows_the_geometry():
    m = AreaModel.load("ecp5")
    assert m.blocks(256, 192) == 6          # 512 x 36: six side by side
    assert m.blocks(2352, 40) == min(-(-40 // w) * -(-2352 // d) for d, w in m.bram_modes)
    assert m.blocks(1, 4) == 0              # LUT RAM


def _all_foldings(net, codes, clock):
    area = AreaModel.load("ecp5")
    layers = [L for L in net.layers if L.kind != "pool"]
    opts = [[(n, t) for n in folding.lane_options(L.outputs) for t in config.tap_options(L)]
            for L in layers]
    out = []
    for combo in itertools.product(*opts):
        d = design_of(net, overrides={"clock_mhz": clock, "layers": {
            L.name: {"lanes": n, "taps": t} for L, (n, t) in zip(layers, combo)}})
        m = cycles.model(d, cycles.traces_from_golden(d, codes))
        out.append((area.estimate(d)["cost"], m["cycles_per_image"] / clock,
                    m["interval_between_images"] / clock, combo))
    return layers, out


def test_the_folding_is_the_cheapest_that_meets_the_target(net, codes):
    """Against every folding of the network: the chosen one meets the target and none
    cheaper does (the search's pruning loses nothing); a tighter target is never slower."""
    clock = 100.0
    layers, every = _all_foldings(net, codes, clock)
    lat = sorted({round(x[1], 3) for x in every})
    picks = []
    for target in (lat[-1] * 0.9, lat[len(lat) // 2], lat[len(lat) // 5], lat[0] * 1.001):
        f = folding.fold(net, settings(clock_mhz=clock, target_latency_us=target),
                         lambda s: build(net, s), codes)
        combo = tuple((f.lanes[L.name], f.taps.get(L.name, 1)) for L in layers)
        cost, lat_us, _, _ = next(x for x in every if x[3] == combo)
        assert f.latency_us == pytest.approx(lat_us) and lat_us <= target
        cheaper = [x for x in every if x[0] < cost and x[1] <= target]
        assert not cheaper, f"target {target:.1f} us: {combo} chosen, {cheaper[0]} is cheaper"
        picks.append((target, lat_us, cost))
    for (_, lat_loose, cost_loose), (_, lat_tight, cost_tight) in zip(picks, picks[1:]):
        assert lat_tight <= lat_loose and cost_tight >= cost_loose
    assert picks[0][2] < picks[-1][2]       # the targets did ask for different foldings


def test_interval_target_and_lanes_the_settings_fix(net, codes):
    first = net.layers[0].name
    s = settings(clock_mhz=100.0, target_interval_us=1e9, layers={first: {"lanes": 3}})
    f = folding.fold(net, s, lambda x: build(net, x), codes)
    assert f.lanes[first] == 3 and f.fixed == [first]
    # any interval will do: the least area of all foldings with that layer at 3 lanes
    area = AreaModel.load("ecp5")
    rest = [L for L in net.layers if L.kind != "pool" and L.name != first]
    costs = [area.estimate(design_of(net, overrides={"layers": {
        first: {"lanes": 3}, **{L.name: {"lanes": n} for L, n in zip(rest, combo)}}}))["cost"]
        for combo in itertools.product(*(folding.lane_options(L.outputs) for L in rest))]
    assert f.area["cost"] == min(costs)


def test_an_unreachable_target_names_the_fastest_folding(net, codes):
    with pytest.raises(GeneratorError, match=r"out of reach: the fastest folding \(.*lanes\) "
                                             r"takes \d+ cycles"):
        folding.fold(net, settings(target_latency_us=0.01), lambda s: build(net, s), codes)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "rtl.generate", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_generate_folds_to_the_target_and_records_it(trained_run, tmp_path):
    """`rtl.generate RUN --target-us`: the lanes chosen are the project's settings, the
    prediction is in folding.json and printed; a bad or unreachable target leaves nothing."""
    run, _ = trained_run
    out = tmp_path / "prj"
    cfg = tmp_path / "settings.json"
    cfg.write_text(json.dumps({"fold_images": 2}))     # a quicker search than the default 8
    r = _cli(str(run), "--out", str(out), "--target-us", "1000", "--mhz", "90",
             "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    f = json.loads((out / "folding.json").read_text())
    cfg = json.loads((out / "rtl_config.json").read_text())
    assert {k: v["lanes"] for k, v in cfg["layers"].items()} == f["lanes"]
    assert cfg["target_latency_us"] == 1000 and cfg["clock_mhz"] == 90
    assert f["predicted"]["latency_us"] <= 1000 and "golden model on 2 images" in f["trace"]
    assert "folded to latency <= 1000 us at 90 MHz" in r.stdout
    for bad, msg in ((["--target-us", "0"], "--target-us must be > 0"),
                     (["--target-us", "0.5"], "out of reach")):
        r = _cli(str(run), "--out", str(tmp_path / "bad"), *bad)
        assert r.returncode == 2 and msg in r.stderr, r.stderr
        assert not (tmp_path / "bad").exists()


def test_a_bad_taps_knob_is_named_with_what_it_allows(net):
    with pytest.raises(GeneratorError, match=r"settings\.layers\.conv1\.taps: expected one of "
                                             r"1, 3, 9 .* got 2"):
        design_of(net, overrides={"layers": {"conv1": {"taps": 2}}})
    with pytest.raises(GeneratorError, match=r"settings\.layers\.conv2\.taps: expected 1 "
                                             r"\(only the first conv layer"):
        design_of(net, overrides={"layers": {"conv2": {"taps": 3}}})
