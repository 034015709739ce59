"""Calibrate the folding's area model (core/hw/area.py) on Yosys synthesis of real projects.

Usage: python -m rtl.calibrate [RUN_OR_IR_DIR] [--lanes "16,48,10 8,24,5 ..."] [--out FILE]

The network is written as an RTL project at several foldings (lanes per weight layer, in IR
order; default: every layer at all, 1/2, 1/4 and 1/8 of its outputs) and each is synthesized
with `synth_ecp5 -noflatten` (rtl.synth --family ecp5); so are two small random networks
(core.random_ir "f64 f32 r" and "r") at the same fractions, for the kernel kinds a conv network
lacks (dense first layer, dense event layer, a readout on the input). Every kernel instance
gives one point (its datapath bits, Kernel.datapath_bits -> its LUT4 + 2 x CCU2C and its
flip-flops), every layer's FIFOs one more. The model interpolates linearly between a kind's
measured points (proportionally below the smallest, along the last segment above the
largest); FIFOs get a least-squares line per FIFO and per word bit. Block RAM is not fitted:
the geometry rule of core.hw.area is checked against the synthesized DP16KD count and the LUT
RAM threshold that fits it best kept. The leave-one-out error of the interpolation per kind
and the block RAM count's error go into the file with where the figures came from. Default
output core/hw/area_ecp5.json, written atomically.
Exit status: 0 written, 2 bad input or Yosys failed.
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from core.atomic import atomic_file
from core.errors import RunError, cli, run_cli
from core.hw.area import AreaModel, area_file
from core.hw.kernels import kernel
from core.hw.mapping import design_of
from core.random_ir import random_network
from core.runs import DEFAULT_RUN, load_network
from rtl import synth, writer
from rtl.kernels import spelling

# the LFE5U-85F (ULX3S): LUT4 / FF sites (TRELLIS_COMB / TRELLIS_FF), DP16KD, MULT18X18D
DEVICES = {"ecp5": {"name": "LFE5U-85F", "LUT": 83640, "FF": 83640, "BRAM": 208, "MULT": 156}}
BRAM_MODES = {"ecp5": [[16384, 1], [8192, 2], [4096, 4], [2048, 9], [1024, 18], [512, 36]]}
LUTRAM_CANDIDATES = (0, 128, 256, 512, 1024, 2048, 4096)
# one distributed-RAM cell: ECP5's TRELLIS_DPR16X4 (16 words x 4 bits) takes two slices' LUT
# sites in RAM mode and the write-port slice's; nextpnr placed the default network's 2,315 in
# 14,948 TRELLIS_COMB sites beyond its LUT4 + 2 x CCU2C (6.46 each)
LUTRAM_CELL = {"ecp5": {"words": 16, "width": 4, "LUT": 6.46}}
# random networks for the kinds a conv network lacks: dense_direct_current + lif_direct +
# dense_event + readout_event, and dense_direct_current + readout_direct
EXTRA_NETWORKS = ("f64 f32 r", "r")


def default_foldings(design) -> list[dict]:
    """Every weight layer at 1, 1/2, 1/4, 1/8 of its outputs (at least one lane)."""
    outs = {p.layer.name: p.layer.outputs for p in design.processes if "lanes" in p.params}
    return [{n: max(1, -(-o // f)) for n, o in outs.items()} for f in (1, 2, 4, 8)]


def parse_lanes(text: str, names: list[str]) -> list[dict]:
    out = []
    for item in text.split():
        try:
            vals = [int(v) for v in item.split(",")]
        except ValueError as e:
            raise RunError(f"--lanes {item!r}: expected comma-separated integers") from e
        if len(vals) != len(names):
            raise RunError(f"--lanes {item!r}: {len(vals)} values for the {len(names)} weight "
                           f"layers ({', '.join(names)})")
        out.append(dict(zip(names, vals)))
    return out


def logic(cells: dict) -> tuple[float, float]:
    return cells["LUT4"] + 2 * cells["CCU2C"], cells["FF"]


def points(design, report) -> tuple[list, list]:
    """(kernel points (kind, x, LUT, FF, blocks, predicted-memory geometry), FIFO points
    (fifos, word bits, LUT, FF, blocks, geometry)) of one synthesized project."""
    kpts, fpts = [], []
    for p in design.processes:
        module = spelling(p.kernel).module
        cells = report["layers"][p.layer.name]["kernels"].get(module)
        if cells is None:
            raise RunError(f"no {module} under layer {p.layer.name} in the synthesis report")
        lut, ff = logic(cells)
        kpts.append((p.kernel, kernel(p.kernel).datapath_bits(p), lut, ff, cells["DP16KD"],
                     [(m.words, m.width) for m in p.memories if not m.lutram]))
    for layer in {s.layer for s in design.streams}:
        mine = [s for s in design.streams if s.layer == layer]
        cells = report["layers"][layer]["kernels"].get("snn_fifo")
        if cells is None:
            continue
        lut, ff = logic(cells)
        fpts.append((len(mine), sum(s.word_bits for s in mine), lut, ff, cells["DP16KD"],
                     [(s.depth, s.word_bits) for s in mine]))
    return kpts, fpts


def curve(xs, ys) -> list[list[float]]:
    """The measured (datapath bits, cells) points of one kind, averaged per x, sorted: the
    model interpolates between them (core.hw.area.AreaModel.interpolate)."""
    by: dict = {}
    for x, y in zip(xs, ys):
        by.setdefault(int(x), []).append(float(y))
    return [[x, round(float(np.mean(v)), 1)] for x, v in sorted(by.items())]


def leave_one_out(points: list) -> float | None:
    """Largest relative error predicting each interior point from its neighbours: how far the
    interpolation may be off between the calibrated foldings."""
    errs = []
    for i in range(1, len(points) - 1):
        rest = points[:i] + points[i + 1:]
        pred = AreaModel.interpolate(rest, points[i][0])
        errs.append(abs(pred - points[i][1]) / max(points[i][1], 1.0))
    return round(max(errs), 3) if errs else None


def fit(kpts, fpts, family: str) -> dict:
    kinds = sorted({k for k, *_ in kpts})
    kernels, loo = {}, {}
    for kind in kinds:
        pts = [p for p in kpts if p[0] == kind]
        xs = [p[1] for p in pts]
        kernels[kind] = {"LUT": curve(xs, [p[2] for p in pts]), "FF": curve(xs, [p[3] for p in pts])}
        loo[kind] = leave_one_out(kernels[kind]["LUT"])
    # FIFOs: cells = a * fifos + b * word bits, least squares
    A = np.array([[n, bits] for n, bits, *_ in fpts], float)
    fifo = {}
    for key, col in (("LUT", 2), ("FF", 3)):
        y = np.array([p[col] for p in fpts], float)
        coef = np.linalg.lstsq(A, y, rcond=None)[0]
        fifo[key] = [round(float(max(coef[0], 0.0)), 3), round(float(max(coef[1], 0.0)), 5)]
    model = dict(family=family, device=DEVICES[family], kernels=kernels, fifo=fifo,
                 bram_bits=18 * 1024, bram_modes=BRAM_MODES[family], lutram_max_bits=0,
                 lutram=LUTRAM_CELL[family])

    def bram_error(threshold):
        m = AreaModel(**{**model, "lutram_max_bits": threshold, "source": {}})
        return sum(abs(sum(m.blocks(w, b) for w, b in geo) - blocks)
                   for *_, blocks, geo in [*kpts, *fpts])

    best = min(LUTRAM_CANDIDATES, key=bram_error)
    model["lutram_max_bits"] = best
    observed = sum(p[4] for p in [*kpts, *fpts])
    model["fit"] = {"leave_one_out_LUT_error": loo,
                    "bram_blocks_observed": observed, "bram_blocks_off_by": bram_error(best)}
    return model


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl.calibrate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder (with ir/) or IR folder (default {DEFAULT_RUN})")
    ap.add_argument("--family", choices=sorted(DEVICES), default="ecp5")
    ap.add_argument("--lanes", help='foldings to synthesize, one per word, lanes per weight '
                                    'layer in IR order ("16,48,10 8,24,5"); default each layer '
                                    'at 1, 1/2, 1/4, 1/8 of its outputs')
    ap.add_argument("--out", help="model file (default core/hw/area_<family>.json)")
    ap.add_argument("--no-extra", action="store_true",
                    help="only the given network (no random networks for the other kinds)")
    a = ap.parse_args(argv)
    net = load_network(a.src)
    base = design_of(net)
    names = list(dict.fromkeys(p.layer.name for p in base.processes if "lanes" in p.params))
    jobs = [(str(a.src), net, lanes) for lanes in (parse_lanes(a.lanes, names) if a.lanes
                                       else default_foldings(base))]
    if not a.no_extra:
        for tokens in EXTRA_NETWORKS:
            extra = random_network(tokens, seed=0)
            jobs += [(f"random {tokens!r}", extra, lanes)
                     for lanes in default_foldings(design_of(extra))]
    kpts, fpts = [], []
    with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
        for i, (label, n, lanes) in enumerate(jobs):
            d = design_of(n, overrides={"layers": {k: {"lanes": v} for k, v in lanes.items()}})
            prj = writer.write(d, Path(tmp) / f"prj{i}")
            print(f"[{i + 1}/{len(jobs)}] {label} lanes {lanes}: synth_ecp5 ...",
                  flush=True)
            rep = synth.synth(prj, family=a.family)
            print(f"  {rep['LUT4']} LUT4, {rep['CCU2C']} CCU2C, {rep['FF']} FF, "
                  f"{rep['DP16KD']} DP16KD, {rep['MULT18']} MULT18 ({rep['seconds']:.0f} s)",
                  flush=True)
            k, f = points(d, rep)
            kpts += k
            fpts += f
    model = fit(kpts, fpts, a.family)
    model["source"] = {"ir_sha256": net.sha256,
                       "foldings": [[label, lanes] for label, _, lanes in jobs],
                       "commit": git_commit(),
                       "date": datetime.date.today().isoformat(),
                       "command": "python -m rtl.calibrate "
                       + " ".join(sys.argv[1:] if argv is None else argv)}
    out = Path(a.out) if a.out else area_file(a.family)
    with atomic_file(out) as t:
        t.write_text(json.dumps(model, indent=1) + "\n")
    for kind, c in model["kernels"].items():
        err = model["fit"]["leave_one_out_LUT_error"][kind]
        print(f"{kind:22s} LUT4 eq. at datapath bits {c['LUT']}"
              + (f" (leave-one-out error {100 * err:.0f} %)" if err is not None else ""))
    print(f"FIFO: LUT {model['fifo']['LUT']}, FF {model['fifo']['FF']}; block RAM: LUT RAM up to "
          f"{model['lutram_max_bits']} bits, {model['fit']['bram_blocks_off_by']} blocks off of "
          f"{model['fit']['bram_blocks_observed']}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
