"""Every benchmark of the flow in one run (`make bench`), one summary.

    python bench/run.py                   # training ratios + DDP, golden model, C-sim, RTL
    python bench/run.py --main-job        # + the README's main job, timed (about 10 minutes)
    python bench/run.py --quick           # smoke run of every part with tiny sizes (figures meaningless)
    python bench/run.py --skip hls,ddp    # leave parts out
    python bench/run.py --robustness runs/latest   # + the strong attack suite, timed (300 images)

Parts (each in its own process, so that each sets its own threads and one failure does not stop
the others):
  train     bench/bench_train.py: 4-bit QAT vs float snnTorch (same topology, same threads) and
            HIRE vs standard, pair by pair, medians of --repeats; the reference (pure-torch LIF)
            path; with `ddp`, torchrun 2 processes (gloo) vs 1 process
  golden    bench/bench_golden.py: the integer golden model's images/s (medians of --repeats)
  hls       bench/bench_hls.py: generate + compile time and C-sim images/s
  rtl       bench/bench_rtl.py's run(args) -> dict, when that module exists (skipped otherwise):
            the default network's RTL cycles, Yosys area, ECP5 place and route; with
            --target-us the network folded to that latency beside it
  robustness with --robustness RUN: `python -m train.robustness RUN` (300 images, eps 8/255
            and 0.1, every attack) timed end to end: wall and CPU seconds, clean and worst case
  main-job  with --main-job: `python train/run.py --quant 4bit` (the README's main job, default
            settings) timed end to end: wall and CPU seconds, clean accuracy
Results: build/bench/<part>.json and build/bench/summary.json; a table; and as the LAST line one
JSON object with at least qat_over_snntorch (throughput ratio) and hire_over_standard (seconds
per epoch ratio), the golden and C-sim images/s and whatever bench_rtl returned (under "rtl").
Goals are reported, never enforced: exit status 0 when every part ran, 1 when a part failed,
2 on a bad flag.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("train", "ddp", "golden", "hls", "rtl")
MAIN_JOB_GOAL_S = 600.0
MAIN_JOB_ACC_GOAL = 0.89


def _run(cmd, log_name, out_dir, cwd=ROOT, env=None, timeout=7200):
    """Run a part, its output passed through; (returncode, wall s, cpu s of the children)."""
    print(f"\n=== {log_name}: {' '.join(str(c) for c in cmd)}", flush=True)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, timeout=timeout)
        rc = r.returncode
    except subprocess.TimeoutExpired:
        rc = 124
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return rc, wall, (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def bench_train(a, out: Path, with_ddp: bool) -> dict:
    cmd = [sys.executable, ROOT / "bench" / "bench_train.py", "--json", out / "train.json",
           "--threads", str(a.threads)]
    if a.quick:
        cmd += ["--images", "256", "--repeats", "1", "--warmup-batches", "1", "--no-reference",
                "--ddp-images", "256"]
    else:
        cmd += ["--repeats", str(a.repeats)]
    cmd += ["--ddp-repeats", str((1 if a.quick else a.repeats) if with_ddp else 0)]
    (out / "train.json").unlink(missing_ok=True)
    rc, wall, cpu = _run(cmd, "train", out)
    res = _load(out / "train.json")
    if rc != 0 or res is None:
        return {"error": f"bench_train.py exited {rc}"}
    r = res["ratios"]
    summary = {"qat_over_snntorch": r["ours_4bit_over_snntorch_float_throughput"],
               "qat_over_snntorch_cpu": r["ours_4bit_over_snntorch_float_cpu_throughput"],
               "hire_over_standard": r["hire_over_standard_time"],
               "hire_over_standard_cpu": r["hire_over_standard_cpu_time"],
               "fast_over_reference_path": r.get("fast_over_reference_path_throughput"),
               "torch_threads": res["config"]["torch_threads"], "train_images": res["config"]["images"],
               "images_per_s": {k: v["images_per_s"] for k, v in res["figures"].items()},
               "lif_kernel": res.get("lif_kernel"), "seconds": wall}
    if res.get("ddp"):
        summary["ddp"] = {k: {f: v[f] for f in ("epoch_seconds", "images_per_s", "process_wall_seconds",
                                                 "all_processes_cpu_seconds")}
                          for k, v in res["ddp"]["setups"].items()}
    return summary


def bench_golden(a, out: Path) -> dict:
    cmd = [sys.executable, ROOT / "bench" / "bench_golden.py", "--json", out / "golden.json"]
    cmd += ["--images", "200"] if a.quick else ["--repeats", str(a.repeats)]
    (out / "golden.json").unlink(missing_ok=True)
    rc, wall, _ = _run(cmd, "golden", out)
    res = _load(out / "golden.json")
    if rc != 0 or res is None:
        return {"error": f"bench_golden.py exited {rc}"}
    f = res["figures"]
    return {"images_per_s": f["predict_images_per_s"], "images": res["config"]["images"], "seconds": wall}


def bench_hls(a, out: Path) -> dict:
    cmd = [sys.executable, ROOT / "bench" / "bench_hls.py", "--out", out / "hls.json"]
    if a.quick:
        cmd += ["--n", "50"]
    (out / "hls.json").unlink(missing_ok=True)
    rc, wall, _ = _run(cmd, "hls", out)
    res = _load(out / "hls.json")
    if res is None:
        return {"error": f"bench_hls.py exited {rc}"}
    keys = ("csim_images_per_s", "csim_images", "csim_mismatches_vs_golden", "compile_s",
            "generate_and_compile_s", "latency_us_at_clock", "cycles_per_image")
    d = {k: res.get(k) for k in keys}
    if rc != 0:
        d["error"] = f"bench_hls.py exited {rc}"
    d["seconds"] = wall
    return d


def bench_rtl(a, out: Path) -> dict:
    """bench/bench_rtl.py's run(args) -> dict, if that module exists (another stage writes it)."""
    if importlib.util.find_spec("bench.bench_rtl") is None:
        return {"skipped": "bench/bench_rtl.py is not there"}
    print("\n=== rtl: bench.bench_rtl.run(args)", flush=True)
    t0 = time.perf_counter()
    try:
        import bench.bench_rtl as rtl
        res = rtl.run(a)
    except Exception as e:  # noqa: BLE001 - a failing part is reported, the others still run
        return {"error": f"{type(e).__name__}: {e}"}
    if not isinstance(res, dict):
        return {"error": f"bench_rtl.run returned {type(res).__name__}, not a dict"}
    res = dict(res)
    res.setdefault("seconds", time.perf_counter() - t0)
    _write(out / "rtl.json", res)
    return res


def main_job(a, out: Path) -> dict:
    """The README's main job with its default settings, in a scratch folder (its runs/latest
    link stays out of the checkout); wall and CPU time of the whole process."""
    work = out / "main-job"
    run_dir = work / "run"
    work.mkdir(parents=True, exist_ok=True)
    if run_dir.exists():
        import shutil
        shutil.rmtree(run_dir)
    cmd = [sys.executable, ROOT / "train" / "run.py", "--quant", "4bit", "--out", run_dir, "--no-progress"]
    rc, wall, cpu = _run(cmd, "main-job", out, cwd=work)
    m = _load(run_dir / "metrics.json")
    if rc != 0 or m is None:
        return {"error": f"train/run.py exited {rc}", "wall_seconds": wall}
    res = {"command": "python train/run.py --quant 4bit", "wall_seconds": wall, "cpu_seconds": cpu,
           "clean_acc": m["clean_acc"], "train_seconds_per_epoch": m["train_seconds_per_epoch"],
           "torch_threads": m["host"]["torch_threads"], "lif_kernel": m.get("lif_kernel", {}).get("backend"),
           "goals": {"wall_seconds": {"goal": f"<= {MAIN_JOB_GOAL_S:.0f}", "met": wall <= MAIN_JOB_GOAL_S},
                     "clean_acc": {"goal": f">= {MAIN_JOB_ACC_GOAL}", "met": m["clean_acc"] >= MAIN_JOB_ACC_GOAL}}}
    _write(out / "main_job.json", res)
    return res


def bench_robustness(a, out: Path) -> dict:
    """The strong attack suite on a run folder, timed (a benchmark: the tests run it on a few
    images only)."""
    dest = out / "robustness.json"
    dest.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "train.robustness", a.robustness, "--no-progress", "--json", dest]
    if a.quick:
        cmd += ["--n", "10", "--steps", "3", "--square-queries", "20", "--source-train-limit", "600",
                "--masking-eps"]
    rc, wall, cpu = _run(cmd, "robustness", out)
    r = _load(dest)
    if rc not in (0, 1) or r is None:  # 1: the masking check flagged the run (reported, not a failure)
        return {"error": f"train.robustness exited {rc}", "wall_seconds": wall}
    return {"run": a.robustness, "images": r["images"], "wall_seconds": wall, "cpu_seconds": cpu,
            "suite_wall_s": r["timing"]["suite_wall_s"], "clean": r["clean"],
            "worst_case": {f"{e['eps']:.4f}": e["worst_case"] for e in r["results"]},
            "flags": r["flags"]}


def _write(path: Path, obj):
    from core.atomic import atomic_file
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


def _fmt(v, nd=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run (figures meaningless)")
    ap.add_argument("--main-job", action="store_true",
                    help="also time the README's main job, python train/run.py --quant 4bit (~10 min)")
    ap.add_argument("--robustness", metavar="RUN", default=None,
                    help="also time the strong attack suite on this run folder (a few minutes)")
    ap.add_argument("--skip", default="", help=f"comma-separated parts to leave out: {', '.join(PARTS)}")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads of the training comparisons (default 1; state it with the figures)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats, medians (default 3)")
    ap.add_argument("--out-dir", default="build/bench", help="result folder (default build/bench)")
    ap.add_argument("--target-us", type=float, default=None,
                    help="rtl part: also fold the default network to this latency per image "
                         "(core.hw.folding) and measure it beside today's design (cycles, "
                         "nextpnr Fmax, LUT4 / FF / DP16KD / MULT18, latency x area)")
    ap.add_argument("--mhz", type=float, default=None,
                    help="the clock that target is met at (default: today's measured Fmax)")
    a = ap.parse_args(argv)
    skip = {s.strip() for s in a.skip.split(",") if s.strip()}
    unknown = skip - set(PARTS) - {"main-job"}
    if unknown:
        ap.error(f"--skip: unknown part(s) {', '.join(sorted(unknown))}; parts: {', '.join(PARTS)}")
    if a.threads < 1 or a.repeats < 1:
        ap.error("--threads and --repeats must be >= 1")
    out = Path(a.out_dir)
    if not out.is_absolute():
        out = ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    a.out_dir = str(out)

    t0 = time.perf_counter()
    res: dict = {}
    if "train" not in skip or "ddp" not in skip:
        res["train"] = bench_train(a, out, with_ddp="ddp" not in skip) if "train" not in skip else None
    if "golden" not in skip:
        res["golden"] = bench_golden(a, out)
    if "hls" not in skip:
        res["hls"] = bench_hls(a, out)
    if "rtl" not in skip:
        res["rtl"] = bench_rtl(a, out)
    if a.main_job and "main-job" not in skip:
        res["main_job"] = main_job(a, out)
    if a.robustness:
        res["robustness"] = bench_robustness(a, out)

    tr = res.get("train") or {}
    summary = {
        "qat_over_snntorch": tr.get("qat_over_snntorch"),
        "hire_over_standard": tr.get("hire_over_standard"),
        "qat_over_snntorch_cpu": tr.get("qat_over_snntorch_cpu"),
        "hire_over_standard_cpu": tr.get("hire_over_standard_cpu"),
        "fast_over_reference_path": tr.get("fast_over_reference_path"),
        "torch_threads": tr.get("torch_threads", a.threads),
        "golden_images_per_s": (res.get("golden") or {}).get("images_per_s"),
        "csim_images_per_s": (res.get("hls") or {}).get("csim_images_per_s"),
        "ddp": tr.get("ddp"),
        "main_job": res.get("main_job"),
        "rtl": res.get("rtl"),
        "robustness": res.get("robustness"),
        "quick": a.quick,
        "goals": {"qat_over_snntorch": ">= 1.5", "hire_over_standard": "<= 1.05",
                  "main_job": f"<= {MAIN_JOB_GOAL_S:.0f} s wall, clean acc >= {MAIN_JOB_ACC_GOAL}"},
        "cpus": os.cpu_count(), "seconds": time.perf_counter() - t0,
        "parts": res,
    }
    failed = [k for k, v in res.items() if isinstance(v, dict) and "error" in v]
    summary["failed_parts"] = failed
    _write(out / "summary.json", summary)

    rows = [("4-bit QAT / float snnTorch, images/s (goal >= 1.5)",
             f"{_fmt(summary['qat_over_snntorch'])}  (cpu time: {_fmt(summary['qat_over_snntorch_cpu'])})"),
            ("HIRE / standard, s per epoch (goal <= 1.05)",
             f"{_fmt(summary['hire_over_standard'])}  (cpu time: {_fmt(summary['hire_over_standard_cpu'])})"),
            ("fused / reference path, images/s", _fmt(summary["fast_over_reference_path"])),
            ("torch threads (training comparisons)", _fmt(summary["torch_threads"])),
            ("golden model, images/s", _fmt(summary["golden_images_per_s"], 1)),
            ("HLS C-sim, images/s", _fmt(summary["csim_images_per_s"], 1))]
    for name, f in (summary["ddp"] or {}).items():
        rows.append((f"DDP {name}", f"{f['images_per_s']:.1f} img/s, epoch {f['epoch_seconds']:.2f} s, "
                                    f"process wall {f['process_wall_seconds']:.2f} s"))
    mj = summary["main_job"]
    if mj and "error" not in mj:
        rows.append(("main job wall / cpu s (goal <= 600)", f"{mj['wall_seconds']:.0f} / {mj['cpu_seconds']:.0f}"))
        rows.append(("main job clean accuracy (goal >= 0.89)", f"{mj['clean_acc']:.4f}"))
    rob = summary["robustness"]
    if rob and "error" not in rob:
        rows.append((f"strong suite, {rob['images']} images: wall / cpu s",
                     f"{rob['wall_seconds']:.0f} / {rob['cpu_seconds']:.0f}"))
        rows.append(("strong suite: clean, worst case per eps",
                     f"{rob['clean']:.3f}, " + ", ".join(f"{k}: {v:.3f}" for k, v in rob["worst_case"].items())))
    rtl = summary["rtl"]
    if isinstance(rtl, dict):
        rows.append(("RTL", ", ".join(f"{k}={_fmt(v)}" for k, v in rtl.items()
                                      if isinstance(v, (int, float, str)))[:100]))
    for k in failed:
        rows.append((f"FAILED: {k}", res[k]["error"]))
    w = max(len(k) for k, _ in rows)
    print("\n" + "\n".join(f"{k:<{w}}  {v}" for k, v in rows))
    print(f"wrote {out / 'summary.json'}")
    print(json.dumps({k: v for k, v in summary.items() if k != "parts"}, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
