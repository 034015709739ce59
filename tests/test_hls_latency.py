"""latency.json: fields, consistency, and the default network's goal (<= 100 us at 200 MHz)."""
from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from conftest import random_ir
from hypothesis import given, settings, strategies as st

from hls import latency
from hls.generate import design_of, generate

FIELDS = ["cycles_per_image", "cycles_per_timestep", "interval_between_images",
          "bound_cycles_per_image", "latency_us", "clock_mhz", "images_per_s", "layers",
          "assumptions", "lanes", "slowest_stage"]


@pytest.fixture(scope="module")
def default_ir():
    return random_ir(seed=0)  # the default network: c16 p2 c32 p2 r on 28x28, T=8


def test_latency_json_of_the_default_network(tmp_path, default_ir):
    out = generate(*default_ir, tmp_path / "prj")
    lat = json.loads((out / "latency.json").read_text())
    for f in FIELDS:
        assert f in lat, f
    assert lat["clock_mhz"] == 200.0 and lat["assumptions"]["spike_rate"] == 0.15
    assert lat["latency_us"] == pytest.approx(lat["cycles_per_image"] / 200.0, abs=1e-3)
    assert lat["latency_us"] <= 100.0                     # the design goal, default lanes
    assert lat["bound_cycles_per_image"] <= lat["interval_between_images"]
    assert lat["bound_cycles_per_image"] <= lat["cycles_per_image"]
    assert lat["cycles_per_timestep"] * lat["timesteps"] <= lat["cycles_per_image"]
    stages = {s["stage"]: s for s in lat["layers"]}
    assert list(stages) == ["conv1_current", "conv1", "pool1", "conv2", "pool2", "readout"]
    assert max(s["cycles_per_image"] for s in lat["layers"]) == lat["interval_between_images"]
    assert stages[lat["slowest_stage"]]["cycles_per_image"] == lat["interval_between_images"]
    # the first layer's current: 28*28 positions x 9 taps with 16 multipliers + reading 784 codes
    assert stages["conv1_current"]["cycles_per_image"] == 784 * 9 + 784 + 2 * 4
    # event lanes: conv2 16 lanes x 9 taps of adders, readout 10
    assert "144 adders" in stages["conv2"]["units"]
    assert lat["lanes"] == {"conv1": 16, "conv2": 16, "readout": 10}


def test_more_spikes_are_never_faster(default_ir):
    design = design_of(*default_ir)
    lats = [latency.analytic(design, r)["cycles_per_image"] for r in (0.0, 0.05, 0.15, 0.3, 1.0)]
    assert lats == sorted(lats)
    assert latency.analytic(design, 0.0)["cycles_per_image"] > 7000  # the dense first layer remains


@functools.lru_cache(maxsize=1)
def _default_ir():
    return random_ir(seed=0)


@given(rate=st.floats(0.0, 1.0), lanes=st.sampled_from([1, 2, 4, 8, 16, 32]))
@settings(max_examples=25, deadline=None)
def test_more_lanes_are_never_slower(rate, lanes):
    model, weights = _default_ir()
    fewer = design_of(model, weights, overrides={"layers": {"conv2": {"lanes": lanes}}})
    more = design_of(model, weights, overrides={"layers": {"conv2": {"lanes": min(32, 2 * lanes)}}})
    a, b = latency.analytic(fewer, rate), latency.analytic(more, rate)
    assert b["cycles_per_image"] <= a["cycles_per_image"] + 1e-9
    assert b["interval_between_images"] <= a["interval_between_images"] + 1e-9
    for r in (a, b):
        assert r["bound_cycles_per_image"] <= r["interval_between_images"] + 1e-9
        assert r["bound_cycles_per_image"] <= r["cycles_per_image"] + 1e-9


def test_measured_counts_at_the_expected_rate_reproduce_the_analytic_figure(default_ir):
    design = design_of(*default_ir)
    T, rate = design.timesteps, 0.15
    exp = latency.expected_stream_counts(design, rate)
    k = len(design.trace_streams)
    tokens, spikes = np.zeros((2, k, T)), np.zeros((2, k, T))
    for s in design.trace_streams:
        tokens[:, s.trace_id], spikes[:, s.trace_id] = exp[s.name]
    m = latency.measured(design, tokens, spikes)
    a = latency.analytic(design, rate)
    assert m["mean_cycles_per_image"] == pytest.approx(a["cycles_per_image"], abs=0.1)
    assert m["spike_rate_per_map"]["conv1"] == pytest.approx(rate)
