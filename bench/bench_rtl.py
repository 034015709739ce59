"""RTL benchmark: the hardware against the golden model at scale, its cycles, speed and area.

    python bench/bench_rtl.py [--run RUN] [--n 1000] [--n-width 200] [--json build/bench/rtl.json]

- Bit widths: trained 2-, 4- and 8-bit networks (the seeded runs rtl_tests uses, made by
  `python train/run.py` and extended to --n-width test vectors by `python -m train.vectors`),
  clean and PGD: RTL == golden (class word and every accumulator), accuracy on the RTL.
- The default network (--run, default runs/latest; the 4-bit test run when there is none):
  --n clean images streamed: latency of an image alone, interval between images, the cycle
  model on the same images, simulation speed; Yosys area (LUT, FF, BRAM, DSP, per layer);
  ECP5 place and route (rtl.pnr, LFE5U-85F, 100 MHz target; about 10-25 minutes, not with
  --quick): the routed Fmax and the latency / interval in us at it, LUT4 / FF / DP16KD /
  MULT18, the latency-area product (us x thousand LUT4 sites).
- With --target-us: the same for the network folded to that latency (core.hw.folding) at
  --mhz (default: the Fmax just measured), beside today's design in one table.
Results into --json and, as the last line, one JSON object. Also `run(args)` for bench/run.py.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python bench/bench_rtl.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench import report  # noqa: E402
from core.hw import folding  # noqa: E402
from rtl import pnr, synth  # noqa: E402
from rtl.simulate import run_rtl  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WIDTH_RUNS = ROOT / "build" / "bench" / "rtl_runs"


def width_run(quant: str, n: int) -> Path:
    """The rtl_tests run of this width, copied and given n test vectors (made once)."""
    from rtl_tests.conftest import trained_run   # rtl_tests' command line: the runs are shared
    src = trained_run(quant)
    dst = WIDTH_RUNS / f"{src.name}-n{n}"
    if not (dst / "vectors.npz").is_file() or not (dst / ".vectors_done").is_file():
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)
        r = subprocess.run([sys.executable, "-m", "train.vectors", str(dst), "--n", str(n),
                            "--no-progress"], cwd=ROOT, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"train.vectors failed: {r.stderr[-2000:]}")
        (dst / ".vectors_done").write_text("ok\n")
    return dst


def bench_widths(n: int, log=print) -> dict:
    out = {}
    for quant in ("2bit", "4bit", "8bit"):
        run = width_run(quant, n)
        for attack in ("none", "pgd"):
            rep = run_rtl(run, n, attack, ROOT / "build" / "bench" / f"rtl_prj_{quant}", alone=1,
                          log=log)
            key = f"{quant}_{'clean' if attack == 'none' else attack}"
            out[key] = {k: rep[k] for k in ("images", "mismatches", "bit_exact", "accuracy",
                                            "golden_accuracy", "images_per_second")}
            log(f"  {key}: {rep['images']} images, {rep['mismatches']} mismatches, RTL "
                f"accuracy {rep['accuracy']} (golden {rep['golden_accuracy']})")
    return out


def default_run(run) -> Path:
    if run:
        return Path(run)
    latest = ROOT / "runs" / "latest"
    if (latest / "ir" / "model.json").is_file():
        return latest
    from rtl_tests.conftest import trained_run
    return trained_run("4bit")


def run(a) -> dict:
    quick = getattr(a, "quick", False)
    n = getattr(a, "rtl_n", None) or (40 if quick else 1000)
    n_width = getattr(a, "rtl_n_width", None) or (20 if quick else 200)
    log = print
    res = {"widths": bench_widths(n_width, log)}
    net_run = default_run(getattr(a, "run", None))
    with np.load(net_run / "vectors.npz") as z:
        saved = len(z["labels"])
    if n > saved:
        log(f"  {net_run}: {saved} saved test images, not {n}: using {saved} "
            f"(`python -m train.vectors {net_run} --n {n}` makes more)")
        n = saved
    res["default"] = hardware(net_run, n, "rtl_prj_default", None, quick, log)
    d = res["default"]
    target = getattr(a, "target_us", None)
    if target:
        cfg = ROOT / "build" / "bench" / "fold_config.json"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(json.dumps({"target_latency_us": target,
                                   "clock_mhz": getattr(a, "mhz", None) or (d["ecp5"] or {}).get("fmax_mhz", 100.0)}))
        res["folded"] = hardware(net_run, n, "rtl_prj_folded", cfg, quick, log)
    log(hardware_table(res))
    out = {
        "rtl_bit_exact_all": all(v["bit_exact"] for v in res["widths"].values())
        and d["bit_exact"] and res.get("folded", d)["bit_exact"],
        "rtl_images_per_s": d["images_per_second"],
        "rtl_cycles_per_image": d["cycles_per_image"],
        "rtl_interval_between_images": d["interval_between_images"],
        "rtl_model_latency_error": d["model_latency_error"],
        "rtl_model_interval_error": d["model_interval_error"],
        "rtl_lut": d["area"]["LUT"], "rtl_bram": d["area"]["BRAM"], "rtl_dsp": d["area"]["DSP"],
        "details": res,
    }
    for name in ("default", "folded"):
        e = (res.get(name) or {}).get("ecp5")
        if e:
            prefix = "rtl_ecp5" if name == "default" else "rtl_folded_ecp5"
            out.update({f"{prefix}_{k}": e.get(k) for k in (
                "fmax_mhz", "latency_us", "interval_us", "LUT4", "FF", "DP16KD", "MULT18",
                "latency_area")})
    return out


def hardware(net_run, n, name, config, quick, log) -> dict:
    """One design of the run's network: RTL-measured cycles (bit-exact against the golden
    model), Yosys area, and with place and route the measured Fmax and the microseconds at it."""
    prj = ROOT / "build" / "bench" / name
    rep = run_rtl(net_run, n, "none", prj, config=config, log=log)
    area = synth.synth(prj)
    # ECP5 place and route (minutes): the measured clock, and the microseconds at it
    routed = None if quick else pnr.pnr(prj, log=log)
    meta = json.loads((prj / "project.json").read_text())
    knobs = json.loads((prj / "rtl_config.json").read_text())["layers"]
    fold = prj / "folding.json"
    out = {
        "run": str(net_run), "project": str(prj), "lanes": meta.get("lanes"),
        "taps": {k: v["taps"] for k, v in knobs.items() if "taps" in v},
        "folding": json.loads(fold.read_text()) if fold.is_file() else None,
        "images": rep["images"], "bit_exact": rep["bit_exact"],
        "accuracy": rep["accuracy"], "cycles_per_image": rep["cycles_per_image"],
        "interval_between_images": rep["interval_between_images"],
        "model_cycles_per_image": rep["model_cycles_per_image"],
        "model_interval_between_images": rep["model_interval_between_images"],
        "model_latency_error": round(abs(rep["model_cycles_per_image"] - rep["cycles_per_image"])
                                     / rep["cycles_per_image"], 4),
        "model_interval_error": round(
            abs(rep["model_interval_between_images"] - rep["interval_between_images_model_subset"])
            / rep["interval_between_images_model_subset"], 4) if rep["images"] > 1 else None,
        "images_per_second": rep["images_per_second"],
        "wall_images_per_second": rep["wall_images_per_second"],
        "area": {k: area[k] for k in ("LUT", "LUTRAM", "FF", "BRAM", "DSP")},
        "area_layers": area["layers"],
        "memory": area.get("memory"),
        "ecp5": None if routed is None else {
            **{k: routed.get(k) for k in ("part", "fmax_mhz", "timing_met", "latency_us",
                                          "interval_us", "cycles_from", "LUT4", "CCU2C", "FF",
                                          "DP16KD", "MULT18", "utilisation", "critical_path",
                                          "memory", "seconds")},
            # latency x logic: microseconds per image times thousands of LUT4 sites
            # (LUT4 + 2 per CCU2C, nextpnr's TRELLIS_COMB)
            "latency_area": round(routed["latency_us"] * (routed["LUT4"] + 2 * routed["CCU2C"])
                                  / 1000, 1) if routed.get("latency_us") else None},
    }
    return out


def hardware_table(res: dict) -> str:
    """The hardware figures of today's design and the folded one, side by side."""
    cols = [(k, res[k]) for k in ("default", "folded") if res.get(k)]
    rows = [("lanes", lambda d: folding.spell_knobs(d["lanes"] or {}, d.get("taps", {}))),
            ("cycles alone", lambda d: f"{d['cycles_per_image']:.0f}"),
            ("cycles streaming", lambda d: f"{d['interval_between_images']:.0f}"),
            ("bit-exact", lambda d: str(d["bit_exact"]))]
    e = [("Fmax MHz (nextpnr)", "fmax_mhz"), ("latency us", "latency_us"),
         ("interval us", "interval_us"), ("LUT4", "LUT4"), ("CCU2C", "CCU2C"), ("FF", "FF"),
         ("DP16KD", "DP16KD"), ("MULT18", "MULT18"), ("latency x kLUT4", "latency_area")]
    rows += [(label, (lambda key: lambda d: "-" if not d["ecp5"] else str(d["ecp5"].get(key)))(k))
             for label, k in e]
    w = 22
    lines = ["hardware, default network" + "".join(f"{name:>28s}" for name, _ in cols)]
    for label, fn in rows:
        lines.append(f"{label:{w}s}   " + "".join(f"{fn(d):>28s}" for _, d in cols))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/bench_rtl.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="the default network's run folder (default runs/latest)")
    ap.add_argument("--n", dest="rtl_n", type=int, default=1000,
                    help="clean images of the default network (default 1000)")
    ap.add_argument("--n-width", dest="rtl_n_width", type=int, default=200,
                    help="clean and PGD images per bit width (default 200)")
    ap.add_argument("--quick", action="store_true", help="small sizes (figures meaningless)")
    ap.add_argument("--target-us", type=float, help="also fold the default network to this "
                                                    "latency (core.hw.folding) and measure that "
                                                    "design beside today's")
    ap.add_argument("--mhz", type=float, help="the clock the folding target is met at (default: "
                                              "today's design's measured Fmax)")
    ap.add_argument("--json", default="build/bench/rtl.json")
    a = ap.parse_args(argv)
    res = run(a)
    res["host"] = report.host_info()
    report.write_result(res, a.json)
    print(json.dumps({k: v for k, v in res.items() if k not in ("details", "host")}))
    return 0 if res["rtl_bit_exact_all"] else 1


if __name__ == "__main__":
    sys.exit(main())
