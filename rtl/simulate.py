"""The whole network in RTL (Verilator, through cocotb) on a run's test vectors, against the golden
model, with the cycles it took.

Usage: python -m rtl.simulate [RUN] [--n N] [--attack none|fgsm|pgd|SET] [--out PROJECT]
                              [--config JSON] [--gaps] [--alone K]

Generates the RTL project (or reuses it when it already holds this IR and these settings),
builds it once (cached by content), streams the first N images of the chosen set back to back
through the stream harness and compares every class word and accumulator with the golden model.
Cycles: the latency of an image alone (the first K images, each with the pipeline empty), the
interval between images when they stream, and the cycle model's figures for the same images.
The last line printed is one JSON object (images, mismatches, bit_exact, accuracy,
cycles_per_image, interval_between_images, model_cycles_per_image,
model_interval_between_images, images_per_second, ...); it is also written to
PROJECT/rtl_sim_report.json. HIRE_SNN_RTL_DIR=<Verilog exported by Vivado HLS> simulates that
instead of the generated RTL (same ports, same harness).
Exit status: 0 bit-exact, 1 any mismatch, 2 an error (missing run, vectors, build failure).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from core import compare
from core.atomic import atomic_file
from core.errors import EXIT_MISMATCH, EXIT_OK, cli, run_cli
from core.hw import backend, cycles
from core.runs import add_vector_arguments, check_count, load_network, load_vectors, run_folder
from rtl import writer
from rtl.generate import DEFAULT_OUT
from rtl.sim import RTLProject

MODEL_IMAGES = 200   # images the cycle model streams (an event simulation: the slow part)


def project_for(net, out: Path, config=None, codes=None, overrides: dict | None = None):
    """(design, project folder): reuse `out` when it holds this IR built with these settings."""
    return backend.project_for(writer.write, net, out, "rtl_config.json", config, codes,
                               overrides)


def run_rtl(run, n=None, attack="none", out=DEFAULT_OUT, config=None, gaps=False, alone=4,
            log=print, overrides: dict | None = None) -> dict:
    run = run_folder(run)
    net = load_network(run)
    codes, labels = load_vectors(run, attack, n, net.in_shape)
    design, out = project_for(net, Path(out), config,
                              backend.fold_codes(run, net, config, overrides), overrides)
    prj = RTLProject.from_env(out)
    prj.build("stream")
    frames = list(codes.reshape(len(codes), -1))
    streamed = prj.stream(frames, gaps=gaps)
    result = streamed.run()
    cmp = compare.compare(net, codes, result)
    for line in cmp.mismatch_lines(result, "RTL"):
        log(line)
    k = max(1, min(alone, len(frames)))
    solo = prj.stream(frames[:k], alone=True)
    traces = cycles.traces_from_golden(design, codes[:MODEL_IMAGES])
    model_alone = [float(cycles.simulate(design, [t])["done"][0] + 1) for t in traces[:k]]
    m = min(len(frames), MODEL_IMAGES)
    done = streamed.out_last_cycle
    interval = float((done[-1] - done[0]) / (len(done) - 1)) if len(done) > 1 else None
    interval_m = float((done[m - 1] - done[0]) / (m - 1)) if m > 1 else None
    model_interval = None
    if m > 1:
        sim = cycles.simulate(design, traces[:m])
        model_interval = float((sim["done"][-1] - sim["done"][0]) / (m - 1))
    mhz = design.settings["clock_mhz"]
    report = {
        "run": str(run), "project": str(out), "attack": attack, **cmp.summary(result, labels),
        "cycles_per_image": float(np.mean(solo.latency_cycles + 1)),
        "latency_us": round(float(np.mean(solo.latency_cycles + 1)) / mhz, 3),
        "interval_between_images": interval,
        "model_cycles_per_image": float(np.mean(model_alone)),
        "model_interval_between_images": model_interval,
        "interval_between_images_model_subset": interval_m,
        "model_images": m, "latency_images": k, "clock_mhz": mhz,
        "images_per_second": round(streamed.images_per_second, 1),
        "wall_images_per_second": round(len(frames) / streamed.wall_seconds, 1),
        "gaps": gaps,
        "simulated": f"exported HLS Verilog in {prj.workdir}" if os.environ.get("HIRE_SNN_RTL_DIR")
        else "generated RTL",
    }
    with atomic_file(out / "rtl_sim_report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl.simulate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_vector_arguments(ap, "ir/ and vectors.npz")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help=f"RTL project folder to generate or reuse (default {DEFAULT_OUT})")
    ap.add_argument("--config", help="settings JSON (see python -m rtl.generate)")
    backend.add_fold_arguments(ap)
    ap.add_argument("--gaps", action="store_true",
                    help="random TVALID gaps and TREADY back-pressure on both streams")
    ap.add_argument("--alone", type=int, default=4,
                    help="images whose latency is measured alone, pipeline empty (default 4)")
    a = ap.parse_args(argv)
    check_count(ap, a.n)
    if a.alone < 1:
        ap.error("--alone must be >= 1")
    rep = run_rtl(a.run, a.n, a.attack, a.out, a.config, a.gaps, a.alone,
                  log=lambda m: print(m, flush=True), overrides=backend.fold_overrides(ap, a))
    print(json.dumps(rep, sort_keys=True))
    return EXIT_OK if rep["bit_exact"] else EXIT_MISMATCH


if __name__ == "__main__":
    run_cli(main)
