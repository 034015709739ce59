"""Folding to a target, held to the RTL: for three latency targets on the trained 4-bit
network, the folding's predicted cycles (cycle model on the same Fashion-MNIST test images)
are what the generated RTL measures, within 1 %, bit-exact; a tighter target is never slower;
a target that lanes alone cannot meet takes several taps per cycle in conv1, measured alike."""
from __future__ import annotations

import numpy as np
import pytest
from rtl_tests.conftest import trained_run
from rtl_tests.test_network import check_equal

from core.hw import cycles
from core.hw.mapping import design_of
from core.network import Network
from core.runs import load_vectors

CLOCK = 100.0


@pytest.mark.generated_rtl
def test_three_targets_meet_their_predicted_cycles_in_the_rtl(projects):
    run = trained_run("4bit")
    net = Network.load(run)
    codes, _ = load_vectors(run, "none", 6, net.in_shape)
    default = design_of(net, overrides={"clock_mhz": CLOCK})
    ref = cycles.model(default, cycles.traces_from_golden(default, codes))["cycles_per_image"]
    seen = []
    for scale in (3.0, 1.5, 1.0):
        target = round(ref * scale / CLOCK, 2)
        d = design_of(net, overrides={"clock_mhz": CLOCK, "target_latency_us": target},
                      codes=codes)
        lat = _measured_as_predicted(projects, net, codes, d, target)
        seen.append(((d.folding["lanes"], d.folding["taps"]), lat))
    assert len({str(knobs) for knobs, _ in seen}) == 3, seen
    assert all(b <= a for (_, a), (_, b) in zip(seen, seen[1:])), seen


@pytest.mark.generated_rtl
def test_a_target_only_taps_meet_is_met_in_the_rtl(projects):
    """conv2 and the readout fixed at the default lanes: 15 % under the default latency is out
    of reach of conv1's lanes (all 16 already), so the folding takes conv1's taps per cycle."""
    run = trained_run("4bit")
    net = Network.load(run)
    codes, _ = load_vectors(run, "none", 6, net.in_shape)
    default = design_of(net, overrides={"clock_mhz": CLOCK})
    ref = cycles.model(default, cycles.traces_from_golden(default, codes))["cycles_per_image"]
    fixed = {k: {"lanes": v} for k, v in default.lanes.items() if k != "conv1"}
    target = round(ref * 0.85 / CLOCK, 2)
    d = design_of(net, overrides={"clock_mhz": CLOCK, "target_latency_us": target,
                                  "layers": fixed}, codes=codes)
    assert d.folding["taps"]["conv1"] > 1, d.folding
    _measured_as_predicted(projects, net, codes, d, target)


def _measured_as_predicted(projects, net, codes, d, target) -> float:
    """The folded design's RTL: bit-exact, within the target, its cycles alone and between
    images within 1 % of the folding's prediction; the measured latency."""
    pred = d.folding["predicted"]
    prj = projects(d)
    alone = prj.stream([c.reshape(-1) for c in codes], alone=True)
    streamed = prj.stream(list(codes.reshape(len(codes), -1)))
    check_equal(streamed, net, codes)
    lat = float(np.mean(alone.latency_cycles + 1))
    done = streamed.out_last_cycle
    itv = float((done[-1] - done[0]) / (len(done) - 1))
    print(f"\ntarget {target} us: lanes {d.folding['lanes']}, taps {d.folding['taps']}, "
          f"{lat:.0f} cycles alone (predicted {pred['latency_cycles']:.0f}), {itv:.0f} between "
          f"images (predicted {pred['interval_cycles']:.0f})")
    assert lat <= target * CLOCK * 1.01
    assert abs(pred["latency_cycles"] - lat) <= 0.01 * lat
    assert abs(pred["interval_cycles"] - itv) <= 0.01 * itv
    return lat
