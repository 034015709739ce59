"""Analytic latency of the generated dataflow, from its loop trip counts (every loop II=1).

Each stage's cycles per timestep follow from its kernel's loops (firmware/snn_utils) and from
the slices and spikes on its input stream; those come either from an assumed spike rate (every
spike map fires that fraction of its neurons per timestep) or from C-simulation traces. The
stages then run as a timestep pipeline:

    S[k][t] = max(F[k][t-1], E[k-1][t])             start: own previous timestep, producer emitting
    F[k][t] = max(S[k][t] + d[k][t], F[k-1][t] + tail[k])
    E[k][t] = F[k][t] - emit[k][t]  (or S[k][t])    when the stage starts writing its output

d is the stage's busy cycles, tail the cycles it still needs after its input's last token
(a conv's fire pass, for example) and emit the length of the final phase that writes its output
(LIF over the stored current and pooling write as they go: E = S). The
image latency is F of the last stage at the last timestep (plus the result words); the interval
between images is the busiest stage's cycles per image (dataflow: the slowest stage sets the
pace); the bound is the work per image divided by the parallel units of the busiest stage,
without loop or control overhead: what the chosen parallelism allows at best.
"""
from __future__ import annotations

import numpy as np

from hls.mapping import Design, Stage


def expected_stream_counts(design: Design, rate: float) -> dict:
    """Per spike stream: (slices, spikes) per timestep when each neuron fires with `rate`."""
    out = {}
    for s in design.trace_streams:
        m = s.spikes
        slices = m.height * m.width * sum(1.0 - (1.0 - rate) ** n for n in m.slice_sizes())
        out[s.name] = (slices, rate * m.neurons)
    return out


def _stage_cycles(st: Stage, tokens: float, spikes: float, ov: int) -> dict:
    """Cycles of one stage for one timestep with `tokens` slices / `spikes` on its input.

    Returns d (busy), tail (after the input's end), emit (length of the final output phase;
    None for a stage that emits from its start, paced by its input), once (a current
    stage's cycles per image, before timestep 0), after / result (per image, after the last
    timestep), essential (work / parallel units, for the bound) and the units.
    """
    p, k = st.params, st.kernel
    if k == "conv_direct_current":
        read = p["in_c"] * p["in_h"] * p["in_w"] + ov
        compute = p["out_h"] * p["out_w"] * p["groups"] * p["in_c"] * p["kernel"] ** 2 + ov
        macs = p["out_h"] * p["out_w"] * st.layer["out_shape"][0] * p["in_c"] * p["kernel"] ** 2
        return dict(once=read + compute, emit=compute, essential=max(read - ov, macs / p["lanes"]),
                    units=f"{p['lanes']} multipliers")
    if k == "dense_direct_current":
        read = p["n_in"] + ov
        compute = p["groups"] * p["n_in"] + ov
        return dict(once=read + compute, emit=compute,
                    essential=max(read - ov, p["n_in"] * st.layer["out_shape"][0] / p["lanes"]),
                    units=f"{p['lanes']} multipliers")
    if k == "lif_direct":
        n = p["out_h"] * p["out_w"] * p["groups"]
        neurons = p["out_h"] * p["out_w"] * st.layer["out_shape"][0]
        return dict(d=n + ov + 1, tail=1, emit=None, essential=neurons / p["lanes"],
                    units=f"{p['lanes']} neuron lanes")
    if k == "pool_or":
        entries = p["in_groups"] * p["out_h"] * p["out_w"]
        return dict(d=tokens + 1 + ov + 1, tail=2, emit=None, after=entries + ov,
                    essential=tokens, units="1 slice per cycle")
    if k == "conv_event":
        scatter = spikes * p["groups"] + 1 + ov
        fire = p["out_h"] * p["out_w"] * p["groups"] + ov + 1
        outs = st.layer["out_shape"][0]
        adders = p["kernel"] ** 2 * p["lanes"]
        synaptic = spikes * outs * p["kernel"] ** 2
        neurons = p["out_h"] * p["out_w"] * outs
        return dict(d=scatter + fire, tail=fire, emit=fire,
                    essential=synaptic / adders + neurons / p["lanes"],
                    units=f"{adders} adders ({p['kernel']}x{p['kernel']} taps x {p['lanes']} lanes)")
    if k in ("dense_event", "readout_event"):
        scatter = spikes * p["groups"] + 1 + ov
        outs = st.layer["out_shape"][0]
        work = spikes * outs / p["lanes"]
        if k == "dense_event":
            fire = p["groups"] + ov + 1
            return dict(d=scatter + fire, tail=fire, emit=fire,
                        essential=work + outs / p["lanes"], units=f"{p['lanes']} adders")
        result = (p["classes"] - 1 + ov) + (p["classes"] + 1 + ov) + p["groups"] * p["lanes"] + ov
        return dict(d=scatter, tail=1, emit=0, result=result, essential=work,
                    units=f"{p['lanes']} adders")
    if k == "readout_direct":
        result = p["groups"] + ov + (p["classes"] - 1 + ov) + (p["classes"] + 1 + ov)
        return dict(d=0, tail=0, emit=0, result=result, essential=0.0,
                    units=f"{p['lanes']} lanes")
    raise ValueError(f"no latency model for kernel {k}")


def pipeline(design: Design, counts) -> dict:
    """Cycles of one image. counts[stream name] -> (slices[T], spikes[T]) on that stream."""
    T = design.timesteps
    ov = design.settings["loop_overhead_cycles"]
    stages = design.stages
    F_prev = E_prev = None     # producer's finish / emit-start per timestep
    per_stage, busy, essential, per_ts = [], {}, {}, {}
    finish = 0.0
    for st in stages:
        src = st.in_stream
        toks, spks = (counts[src.name] if src is not None and src.spikes is not None
                      else (np.zeros(T), np.zeros(T)))
        cyc = [_stage_cycles(st, float(toks[t]), float(spks[t]), ov) for t in range(T)]
        if "once" in cyc[0]:   # a direct current stage: once per image, before timestep 0
            once = cyc[0]["once"]
            F = np.full(T, np.nan)
            F[0] = once
            E = np.full(T, np.nan)
            E[0] = once - cyc[0]["emit"]
            total = once
            per_stage.append(dict(stage=st.name, layer=st.layer["name"], kernel=st.kernel,
                                  cycles_per_image=once, units=cyc[0]["units"]))
            essential[st.name] = cyc[0]["essential"]
            F_prev, E_prev = F, E
            busy[st.name] = total
            continue
        F, E = np.zeros(T), np.zeros(T)
        for t in range(T):
            c = cyc[t]
            prod_f = F_prev[t] if F_prev is not None and not np.isnan(F_prev[t]) else 0.0
            prod_e = E_prev[t] if E_prev is not None and not np.isnan(E_prev[t]) else 0.0
            start = max(F[t - 1] if t else 0.0, prod_e)
            F[t] = max(start + c["d"], prod_f + c["tail"])
            E[t] = start if c["emit"] is None else F[t] - c["emit"]
        extra = cyc[-1].get("result", 0) + cyc[-1].get("after", 0)
        total = sum(c["d"] for c in cyc) + extra
        if "result" in cyc[-1]:
            finish = F[-1] + cyc[-1]["result"]
        d_mean = float(np.mean([c["d"] for c in cyc]))
        per_stage.append(dict(stage=st.name, layer=st.layer["name"], kernel=st.kernel,
                              cycles_per_timestep=round(d_mean, 1),
                              cycles_per_image=round(total, 1), units=cyc[0]["units"]))
        essential[st.name] = sum(c["essential"] for c in cyc)
        per_ts[st.name] = d_mean
        busy[st.name] = total
        F_prev, E_prev = F, E
    slowest = max(busy, key=busy.get)
    return dict(cycles_per_image=float(finish), interval_between_images=float(busy[slowest]),
                cycles_per_timestep=float(max(per_ts.values(), default=0.0)),
                bound_cycles_per_image=float(max(essential.values())), slowest_stage=slowest,
                stages=per_stage)


def analytic(design: Design, rate: float | None = None) -> dict:
    """latency.json: the pipeline at a stated spike rate (default: hls_config spike_rate)."""
    rate = design.settings["spike_rate"] if rate is None else rate
    T = design.timesteps
    exp = expected_stream_counts(design, rate)
    counts = {k: (np.full(T, v[0]), np.full(T, v[1])) for k, v in exp.items()}
    res = pipeline(design, counts)
    return _report(design, res, {"spike_rate": rate,
                                 "slices_per_timestep": {k: round(v[0], 1) for k, v in exp.items()},
                                 "spikes_per_timestep": {k: round(v[1], 1) for k, v in exp.items()}})


def measured(design: Design, tokens: np.ndarray, spikes: np.ndarray) -> dict:
    """The same model fed with C-sim counts: tokens/spikes (N, streams, T) -> mean and worst image."""
    cycles = []
    for n in range(tokens.shape[0]):
        counts = {s.name: (tokens[n, s.trace_id], spikes[n, s.trace_id])
                  for s in design.trace_streams}
        cycles.append(pipeline(design, counts))
    lat = np.array([c["cycles_per_image"] for c in cycles])
    itv = np.array([c["interval_between_images"] for c in cycles])
    mhz = design.settings["clock_mhz"]
    rates = {s.layer: float(spikes[:, s.trace_id].mean() / s.spikes.neurons)
             for s in design.trace_streams}
    return {"images": int(len(lat)), "mean_cycles_per_image": round(float(lat.mean()), 1),
            "max_cycles_per_image": round(float(lat.max()), 1),
            "mean_latency_us": round(float(lat.mean()) / mhz, 3),
            "max_latency_us": round(float(lat.max()) / mhz, 3),
            "mean_interval_between_images": round(float(itv.mean()), 1),
            "images_per_s_at_clock": round(mhz * 1e6 / float(itv.mean()), 1),
            "spike_rate_per_map": {k: round(v, 4) for k, v in rates.items()}}


def _report(design: Design, res: dict, assumptions: dict) -> dict:
    mhz = design.settings["clock_mhz"]
    T = design.timesteps
    cyc = res["cycles_per_image"]
    return {
        "clock_mhz": mhz,
        "timesteps": T,
        "cycles_per_image": round(cyc, 1),
        "cycles_per_timestep": round(res["cycles_per_timestep"], 1),
        "latency_us": round(cyc / mhz, 3),
        "interval_between_images": round(res["interval_between_images"], 1),
        "images_per_s": round(mhz * 1e6 / res["interval_between_images"], 1),
        "bound_cycles_per_image": round(res["bound_cycles_per_image"], 1),
        "bound_latency_us": round(res["bound_cycles_per_image"] / mhz, 3),
        "slowest_stage": res["slowest_stage"],
        "assumptions": {**assumptions,
                        "loop_overhead_cycles": design.settings["loop_overhead_cycles"],
                        "ii": 1},
        "lanes": dict(design.lanes),
        "layers": res["stages"],
    }
