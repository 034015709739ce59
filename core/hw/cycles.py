"""The cycle model: a token-level event simulation of the Design that FIFOs cannot fool.

Every process runs its kernel's per-cycle behaviour (core.hw.kernels) on the tokens a trace
gives it, with blocking reads and writes on FIFOs of the Design's depths (core.hw.sim). A trace
is either the golden model's token streams for real images (core.compare) or random spike maps
at an assumed rate. Reported per image, with the same definitions the RTL simulation measures:

- latency (`cycles_per_image`): from the first input beat to the last result word, the image
  alone in the pipeline (input at one beat per cycle, output always ready);
- interval (`interval_between_images`): cycles between consecutive results when the images
  stream back to back;
- per process: busy cycles, stall cycles (waiting on an empty input or a full output).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from core import compare
from core.hw.design import Design
from core.hw.kernels import kernel
from core.hw.sim import Engine, Fifo, Wait, Write

FIFO_LATENCY = 4     # write -> readable, cycles (the RTL's FIFO: RAM, two registers, buffer)
OUTPUT_LATENCY = 4   # result FIFO write -> m_axis beat (FIFO, then the register slice)


@dataclass
class ImageTrace:
    """One image's token streams: emits[stream][t] loop iterations that send a token, tokens
    the popcounts of those tokens (the work each one causes downstream)."""

    emits: dict
    tokens: dict


def traces_from_tokens(tokens: list) -> list[ImageTrace]:
    out = []
    for img in tokens:
        out.append(ImageTrace(
            emits={s: [tok[:, 4].tolist() for tok in ts] for s, ts in img.items()},
            tokens={s: [[int(m).bit_count() for m in tok[:, 3].tolist()] for tok in ts]
                    for s, ts in img.items()}))
    return out


def traces_from_golden(design: Design, codes: np.ndarray) -> list[ImageTrace]:
    return traces_from_tokens(compare.golden_tokens(design, codes).tokens)


def traces_from_rate(design: Design, rate: float, images: int = 1, seed: int = 0):
    """Random spike maps in which every map a layer receives fires `rate` of its neurons per
    timestep: a LIF map that is OR-pooled over size x size fires 1 - (1 - rate)^(1/size^2), so
    that its pooled map fires `rate` (independent neurons)."""
    rng = np.random.default_rng(seed)
    T = design.timesteps
    pooled = {p.in_stream.name: kernel(p.kernel).input_pool(p) for p in design.processes
              if p.in_stream is not None and kernel(p.kernel).input_pool(p) > 1}
    maps = {}
    for s in design.spike_streams:
        m = s.spikes
        r = 1.0 - (1.0 - rate) ** (1.0 / pooled[s.name] ** 2) if s.name in pooled else rate
        maps[s.name] = (rng.random((T, images, m.channels, m.height, m.width)) < r
                        ).astype(np.uint8)
    tokens = (compare.tokens_from_maps(design, maps, T) if maps
              else [{} for _ in range(images)])
    return traces_from_tokens(tokens)


def _process_gen(design: Design, p, io, traces):
    k = kernel(p.kernel)
    for img in traces:
        yield from k.behaviour(p, io, img)


def _source(fifo: Fifo, beats: int, images: int):
    for _ in range(images):
        for _ in range(beats):
            yield Write(fifo, 1)
            yield Wait(1)


def simulate(design: Design, traces: list) -> dict:
    """Stream the traced images back to back; per-image result times and per-process figures."""
    n_img = len(traces)
    eng = Engine()
    fifos = {s.name: Fifo(s.name, s.depth, FIFO_LATENCY) for s in design.streams}
    beats = design.n_inputs
    s_axis = Fifo("s_axis", 1 << 30, 0)        # the source offers one beat per cycle
    m_axis = Fifo("m_axis", 1 << 30, OUTPUT_LATENCY)
    eng.add("source", _source(s_axis, beats, n_img))
    procs = {}
    for p in design.processes:
        io = SimpleNamespace(
            inp=fifos[p.in_stream.name] if p.in_stream else None,
            out=fifos[p.out_stream.name] if p.out_stream else None,
            flag_in=fifos[p.flag_in.name] if p.flag_in else None,
            flag_out=fifos[p.flag_out.name] if p.flag_out else None,
            s_axis=s_axis, m_axis=m_axis)
        k = kernel(p.kernel)
        if k.reads_input:   # its frame reader runs beside it (snn_frame_in)
            io.rows = Fifo(f"{p.name}_rows", 1 << 30, 1)
            io.release = Fifo(f"{p.name}_release", 1 << 30, 1)
            eng.add(f"{p.name}_frame", k.frame_reader(p, io, n_img))
        procs[p.name] = eng.add(p.name, _process_gen(design, p, io, traces))
    eng.run()
    words = design.classes + 1
    w = np.array(m_axis.writes) + OUTPUT_LATENCY
    first_in = np.array(s_axis.reads[::beats])
    done = w[words - 1::words]
    return dict(first_in=first_in, done=done,
                busy={k: v.busy for k, v in procs.items()},
                stall={k: v.stall for k, v in procs.items()},
                fifo_peak={k: f.occupancy_peak() for k, f in fifos.items()})


def model(design: Design, traces: list, streaming: bool = True) -> dict:
    """Latency of each image alone, interval when streaming, per-process busy / stall."""
    lat = []
    for tr in traces:
        r = simulate(design, [tr])
        lat.append(float(r["done"][0] - r["first_in"][0] + 1))
    out = dict(images=len(traces), cycles_per_image=float(np.mean(lat)),
               max_cycles_per_image=float(np.max(lat)))
    if streaming and len(traces) > 1:
        r = simulate(design, traces)
        done = r["done"]
        out["interval_between_images"] = float((done[-1] - done[0]) / (len(done) - 1))
        out["busy"] = {k: round(v / len(traces), 1) for k, v in r["busy"].items()}
        out["stall"] = {k: round(v / len(traces), 1) for k, v in r["stall"].items()}
        out["fifo_peak"] = r["fifo_peak"]
    else:
        r = simulate(design, traces)
        out["interval_between_images"] = None
        out["busy"] = {k: round(v, 1) for k, v in r["busy"].items()}
        out["stall"] = {k: round(v, 1) for k, v in r["stall"].items()}
        out["fifo_peak"] = r["fifo_peak"]
    return out


def work_bound(design: Design, traces: list) -> dict:
    """Per process: its kernel's essential work per image over its parallel units, without any
    overhead or stall (what the chosen parallelism allows at best), from the traces' spikes."""
    return {p.name: kernel(p.kernel).work_bound(p, design, traces) for p in design.processes}


def report(design: Design, traces: list, assumptions: dict) -> dict:
    """latency.json: the cycle model on the traces, with the per-process figures."""
    mhz = design.settings["clock_mhz"]
    m = model(design, traces)
    # the interval is measured between consecutive results, i.e. over images 2..N: so is the bound
    bound = work_bound(design, traces[1:] if len(traces) > 1 else traces)
    itv = m["interval_between_images"] or m["cycles_per_image"]
    slowest = max(m["busy"], key=lambda k: m["busy"][k] if k != "source" else -1)
    return {
        "model": "token-level event simulation (core.hw.cycles)",
        "clock_mhz": mhz,
        "timesteps": design.timesteps,
        "images": m["images"],
        "cycles_per_image": round(m["cycles_per_image"], 1),
        "max_cycles_per_image": round(m["max_cycles_per_image"], 1),
        "latency_us": round(m["cycles_per_image"] / mhz, 3),
        "interval_between_images": round(itv, 1),
        "images_per_s": round(mhz * 1e6 / itv, 1),
        "bound_cycles_per_image": round(max(bound.values()), 1),
        "slowest_stage": slowest,
        "assumptions": assumptions,
        "lanes": dict(design.lanes),
        "fifo_depths": {s.name: s.depth for s in design.streams},
        "fifo_peak_occupancy": m["fifo_peak"],
        "layers": [dict(stage=p.name, layer=p.layer.name, kernel=p.kernel,
                        busy_cycles_per_image=m["busy"][p.name],
                        stall_cycles_per_image=m["stall"][p.name],
                        bound_cycles_per_image=round(bound[p.name], 1),
                        units=kernel(p.kernel).units(p))
                   for p in design.processes],
    }


def analytic(design: Design, rate: float | None = None, images: int = 4, seed: int = 0) -> dict:
    """latency.json at an assumed spike rate (default: the settings' spike_rate)."""
    rate = design.settings["spike_rate"] if rate is None else rate
    traces = traces_from_rate(design, rate, images, seed)
    return report(design, traces, {"spike_rate": rate, "trace": f"random spike maps, seed {seed}",
                                   "images": images})


def measured(design: Design, codes: np.ndarray) -> dict:
    """The cycle model on real images (their golden token streams)."""
    traces = traces_from_golden(design, codes)
    return report(design, traces, {"trace": "golden model on the given images",
                                   "images": len(codes)})
