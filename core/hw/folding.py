"""Folding to a target: the lanes of every weight layer that cost the least area while the
cycle model meets a latency and / or interval target (FINN's SetFolding, hls4ml's ReuseFactor,
for this design).

settings.target_latency_us / target_interval_us (or `--target-us` / `--target-interval-us`
of rtl.generate and hls.generate) at settings.clock_mhz, which should be the clock `make pnr`
measured. The cycle model runs on the run's own spike traces (the golden model on the first
settings.fold_images clean test images of RUN/vectors.npz) or, without a run, on random spike
maps at settings.spike_rate. Area is core.hw.area's model, calibrated on synthesis.

Search: a layer's lane options are the fewest lanes for each possible number of lane groups
(ceil(outputs / g)), times its taps per cycle (the first conv layer: 1, K or K*K; others 1);
lanes or taps the settings fix are kept. Every combination is costed
by the area model, those that would not fit the device (any resource over its capacity) are
dropped, and the rest tried in order of cost; a combination no faster in any layer than one
that already missed the target (fewer or equal lanes and taps everywhere) is skipped, as more
lanes or taps never take more cycles, and so is one whose slowest stage's essential work (Kernel.work_bound
on the traces) already exceeds the target, before the cycle model runs. The first that meets the target is the cheapest that does. The
order is deterministic, so a tighter target never gets a slower design.
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from core import compare, golden
from core.errors import GeneratorError
from core.hw import config as hw_config
from core.hw import cycles
from core.hw.area import AreaModel


def lane_options(outputs: int) -> list[int]:
    """The fewest lanes for each number of lane groups: more lanes at the same group count
    only add area."""
    return sorted({math.ceil(outputs / g) for g in range(1, outputs + 1)})


def targets(settings: dict) -> dict:
    return {k: settings.get(k) for k in ("target_latency_us", "target_interval_us")
            if settings.get(k) is not None}


@dataclass
class Folding:
    lanes: dict
    taps: dict                     # the first conv layer's taps per cycle (where it has a choice)
    clock_mhz: float
    targets: dict
    latency_cycles: float
    interval_cycles: float
    area: dict
    trace: str
    tried: int                     # combinations the cycle model ran on
    candidates: int                # combinations costed
    fixed: list = field(default_factory=list)

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.clock_mhz

    @property
    def interval_us(self) -> float:
        return self.interval_cycles / self.clock_mhz

    def to_json(self) -> dict:
        return {"lanes": self.lanes, "taps": self.taps, "fixed_by_settings": self.fixed,
                "clock_mhz": self.clock_mhz, "targets": self.targets,
                "predicted": {"latency_cycles": round(self.latency_cycles, 1),
                              "interval_cycles": round(self.interval_cycles, 1),
                              "latency_us": round(self.latency_us, 3),
                              "interval_us": round(self.interval_us, 3),
                              "area": self.area},
                "trace": self.trace, "candidates": self.candidates, "tried": self.tried}

def spell_knobs(lanes: dict, taps: dict) -> str:
    """"conv1 16 x 9 taps, conv2 48, ...": each layer's lanes, and its taps where it has some."""
    return ", ".join(f"{k} {v}" + (f" x {taps[k]} taps" if k in taps else "")
                     for k, v in lanes.items())


def describe(f: dict) -> str:
    """One line for a folding.json."""
    p, a = f["predicted"], f["predicted"]["area"]["total"]
    lanes = spell_knobs(f["lanes"], f.get("taps", {}))
    want = ", ".join(f"{k.removeprefix('target_').removesuffix('_us')} <= {v:g} us"
                     for k, v in f["targets"].items())
    return (f"folded to {want} at {f['clock_mhz']:g} MHz: lanes {lanes}; predicted "
            f"{p['latency_cycles']:.0f} cycles = {p['latency_us']:.1f} us per image, one every "
            f"{p['interval_cycles']:.0f} cycles = {p['interval_us']:.1f} us; area (model) "
            f"{a['LUT']:.0f} LUT4, {a['FF']:.0f} FF, {a['BRAM']:.0f} block RAM, "
            f"{a['MULT']:.0f} multipliers; {f['tried']} of {f['candidates']} foldings simulated "
            f"({f['trace']})")


class _Traces:
    """Spike traces of every folding from one golden run (or random maps at a rate)."""

    def __init__(self, net, settings, codes):
        self.codes = codes
        self.rate = settings["spike_rate"]
        self.run = golden.run(net, codes, record=True) if codes is not None else None
        self.what = (f"golden model on {len(codes)} images" if codes is not None
                     else f"random spike maps at a {self.rate:g} spike rate, 4 images")

    def of(self, design):
        if self.run is None:
            return cycles.traces_from_rate(design, self.rate, 4, 0)
        if not design.spike_streams:
            return cycles.traces_from_tokens([{} for _ in range(len(self.codes))])
        toks = compare.tokens_from_maps(design, compare.stream_spikes(design, self.run),
                                        design.timesteps)
        return cycles.traces_from_tokens(toks)


def _meets(m: dict, clock: float, tgt: dict) -> bool:
    lat = m["cycles_per_image"] / clock
    itv = (m["interval_between_images"] or m["cycles_per_image"]) / clock
    return (lat <= tgt.get("target_latency_us", math.inf) + 1e-9
            and itv <= tgt.get("target_interval_us", math.inf) + 1e-9)


def fold(net, settings: dict, build, codes: np.ndarray | None = None,
         area: AreaModel | None = None) -> Folding:
    """The cheapest folding of `net` that meets the settings' targets. `build(settings)` maps
    the network with given settings (core.hw.mapping.build); `codes` the images whose golden
    spike traces the cycle model runs on (None: random maps at settings.spike_rate)."""
    tgt = targets(settings)
    if not tgt:
        raise GeneratorError("folding needs settings.target_latency_us or target_interval_us")
    area = area or AreaModel.load()
    clock = float(settings["clock_mhz"])
    weight_layers = [L for L in net.layers if L.kind != "pool"]
    fixed = [L.name for L in weight_layers if "lanes" in settings["layers"].get(L.name, {})]
    # each layer's choices, (lanes, taps) pairs: one pair where the settings fix both
    options = []
    for L in weight_layers:
        knobs = settings["layers"].get(L.name, {})
        lanes = [knobs["lanes"]] if "lanes" in knobs else lane_options(L.outputs)
        taps = [knobs["taps"]] if "taps" in knobs else hw_config.tap_options(L)
        options.append([(n, t) for n in lanes for t in taps])
    tapped = [L.name for L, o in zip(weight_layers, options) if any(t > 1 for _, t in o)]
    traces = _Traces(net, settings, codes)

    def with_lanes(combo):
        s = copy.deepcopy(settings)
        for L, (n, t) in zip(weight_layers, combo):
            s["layers"].setdefault(L.name, {})["lanes"] = n
            if L.name in tapped:
                s["layers"][L.name]["taps"] = t
        return s

    def spell(combo):
        return spell_knobs({L.name: n for L, (n, _) in zip(weight_layers, combo)},
                           {L.name: t for L, (_, t) in zip(weight_layers, combo)
                            if L.name in tapped})

    # the fastest folding first: if it misses, no folding meets the target
    fastest = tuple(o[-1] for o in options)
    d = build(with_lanes(fastest))
    m = m_fastest = cycles.model(d, traces.of(d))
    if not _meets(m, clock, tgt):
        itv = m["interval_between_images"] or m["cycles_per_image"]
        want = ", ".join(f"{k.removeprefix('target_').removesuffix('_us')} <= {v:g} us"
                         for k, v in tgt.items())
        raise GeneratorError(
            f"settings.target: {want} at {clock:g} MHz is out of reach: the fastest folding "
            f"({spell(fastest)} lanes) takes "
            f"{m['cycles_per_image']:.0f} cycles = {m['cycles_per_image'] / clock:.1f} us per "
            f"image and one every {itv:.0f} cycles = {itv / clock:.1f} us (cycle model on "
            f"{traces.what}); the slowest stage is "
            f"{max(m['busy'], key=lambda k: m['busy'][k] if k != 'source' else -1)}")
    del d
    costed, too_big = [], 0
    for combo in itertools.product(*options):
        est = area.estimate(build(with_lanes(combo)))
        if max(est["share"].values()) > 1.0:
            too_big += 1
            continue
        costed.append((est["cost"], combo))
    costed.sort()
    failed: list = []
    tried = 1
    need = min(tgt.values()) * clock      # cycles: neither latency nor interval may exceed it
    for cost, combo in costed:
        if any(all(c[0] <= f[0] and c[1] <= f[1] for c, f in zip(combo, bad))
               for bad in failed):
            continue
        design = build(with_lanes(combo))
        if combo != fastest:
            # no image passes a stage faster than its essential work: a cheap lower bound
            tr = traces.of(design)
            if max(cycles.work_bound(design, tr).values()) > need:
                failed.append(combo)
                continue
        m = m_fastest if combo == fastest else cycles.model(design, tr)
        tried += combo != fastest
        if _meets(m, clock, tgt):
            return Folding(lanes={L.name: n for L, (n, _) in zip(weight_layers, combo)},
                           taps={L.name: t for L, (_, t) in zip(weight_layers, combo)
                                 if L.name in tapped},
                           clock_mhz=clock, targets=tgt,
                           latency_cycles=m["cycles_per_image"],
                           interval_cycles=m["interval_between_images"] or m["cycles_per_image"],
                           area=area.estimate(design), trace=traces.what, tried=tried,
                           candidates=len(costed), fixed=fixed)
        failed.append(combo)
    raise GeneratorError(
        f"settings.target: no folding that fits the {area.device['name']} meets the target "
        f"at {clock:g} MHz ({too_big} of {too_big + len(costed)} foldings would not fit, by "
        f"the area model; the fastest, {spell(fastest)} lanes, needs "
        f"{area.estimate(build(with_lanes(fastest)))['share']} of the device)")
