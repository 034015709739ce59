"""Training-throughput benchmark: HIRE vs standard BPTT, our QAT model vs float snnTorch, and
DistributedDataParallel (2 processes) vs one.

    python bench/bench_train.py                          # 6000 Fashion-MNIST images, T=8, batch 128
    python bench/bench_train.py --images 512 --repeats 2 --json build/bench/train-small.json
    python bench/bench_train.py --ddp-repeats 3          # also: torchrun 2 processes vs 1

Every configuration trains one epoch on the same images, batch order and seed, through the same
loop (train.experiment.train_model: Adam + one-cycle schedule), from a fresh model. Compared
configurations run back to back, pair by pair, in an order that flips every repeat
(hire, standard, snntorch / snntorch, standard, hire); each ratio is taken within a repeat and
the median over repeats is reported, from wall time and from process CPU time (the CPU-time
ratio is the robust one when other jobs share the cores). torch runs --threads threads (default
1: on a shared 2-core host two intra-op threads oversubscribe the cores).

  ours-4bit-standard   the default network (fmnist-conv48), 4-bit QAT, --method standard (one
                       update per batch)
  ours-4bit-hire       the same with --method hire (2 periods, the default train eps: two
                       updates per batch)
  ours-float-standard  the same network with --quant float
  snntorch-float       the same topology written as snnTorch tutorials do: snntorch.Leaky neurons
                       (fast_sigmoid surrogate), a timestep loop around the whole network that
                       re-applies conv1 to the image at every step, BPTT through autograd
  ours-4bit-reference  ours-4bit-standard on the reference path (pure-torch LIF, NCHW, separate
                       max_pool2d): what the fused kernel and channels-last replace

Goals: hire / standard seconds per epoch <= 1.05; ours-4bit / snntorch-float images/s >= 1.5.
Writes a JSON result file (default build/bench/train.json).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

if __package__ in (None, ""):  # `python bench/bench_train.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train/run.py: before torch loads OpenMP

import torch
import torch.nn.functional as F
from torch import nn

from bench import report
from train import data
from train.experiment import Dist, build_model, train_model, tune_allocator
from quant.model import ARCHS
from train.hire import METHODS
from train.run import DEFAULT_ARCH, DEFAULT_TRAIN_EPS, default_leak_shifts, parser as run_parser

ROOT = Path(__file__).resolve().parent.parent
HIRE_GOAL = 1.05  # hire / standard time per epoch at most this
SNNTORCH_GOAL = 1.5  # ours-4bit / snntorch-float images/s at least this
PAIRED = ("ours-4bit-hire", "ours-4bit-standard", "snntorch-float")  # run back to back
OTHERS = ("ours-float-standard", "ours-4bit-reference")
CONFIGS = PAIRED + OTHERS


class SnnTorchNet(nn.Module):
    """The default network (c{A} p2 c{B} p2 r) in float with snnTorch neurons, in the style of
    snnTorch's tutorials.

    conv 1->A 3x3 pad 1, Leaky, maxpool 2, conv A->B, Leaky, maxpool 2, dense B*(H/4)*(W/4)->10
    whose output is summed over T (no spiking readout). Direct input: the image enters every step.
    Bias-free like ours. Presents train_model's model interface: forward(x, timesteps=T)
    returning (acc, state, record) and cfg.encoding.
    """

    def __init__(self, timesteps: int, betas, threshold: float,
                 layers=("c16", "p2", "c32", "p2", "r"), in_shape=(1, 28, 28), n_classes: int = 10):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        if len(layers) != 5 or [t[0] for t in layers] != ["c", "p", "c", "p", "r"] \
                or layers[1] != "p2" or layers[3] != "p2":
            raise ValueError(f"the snnTorch baseline is written for c<A> p2 c<B> p2 r, not "
                             f"{' '.join(layers)}: pick such an --arch")
        a, b = int(layers[0][1:]), int(layers[2][1:])
        self.cfg = SimpleNamespace(encoding="direct", timesteps=timesteps)
        sg = surrogate.fast_sigmoid(slope=25)
        c, h, w = in_shape
        beta1, beta2 = betas  # one per spiking layer, as train/run.py's --leak-shift
        self.conv1 = nn.Conv2d(c, a, 3, padding=1, bias=False)
        self.lif1 = snn.Leaky(beta=beta1, threshold=threshold, spike_grad=sg)
        self.conv2 = nn.Conv2d(a, b, 3, padding=1, bias=False)
        self.lif2 = snn.Leaky(beta=beta2, threshold=threshold, spike_grad=sg)
        self.fc = nn.Linear(b * (h // 4) * (w // 4), n_classes, bias=False)

    def forward(self, x, state=None, timesteps=None, keep_state=True):
        T = int(timesteps or self.cfg.timesteps)
        mem1 = self.lif1.init_leaky()
        mem2 = self.lif2.init_leaky()
        acc = 0
        for _ in range(T):
            cur1 = self.conv1(x)
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.conv2(F.max_pool2d(spk1, 2))
            spk2, mem2 = self.lif2(cur2, mem2)
            acc = acc + self.fc(F.max_pool2d(spk2, 2).flatten(1))
        return acc, [mem1, mem2], []


def run_args(a) -> argparse.Namespace:
    """train/run.py's defaults (lr, v_th, leak, surrogate, ...) with this benchmark's sizes."""
    args = run_parser().parse_args(["--dataset", "fashion-mnist", "--no-progress"])
    args.arch = DEFAULT_ARCH[args.dataset]
    args.leak_shift = default_leak_shifts(args.arch)
    args.timesteps = a.timesteps
    args.batch_size = a.batch_size
    args.periods = a.periods
    args.train_eps = DEFAULT_TRAIN_EPS[args.dataset] if a.train_eps is None else a.train_eps
    args.seed = a.seed
    args.device = "cpu"
    return args


def make_model(name: str, args, seed: int):
    if name == "snntorch-float":
        torch.manual_seed(seed)
        return SnnTorchNet(args.timesteps, betas=[1.0 - 2.0 ** -k for k in args.leak_shift],
                           threshold=args.v_th, layers=ARCHS[args.arch])
    quant = "float" if name.startswith("ours-float") else "4bit"
    return build_model(argparse.Namespace(**{**vars(args), "quant": quant}), seed)


class reference_path:
    """The pre-kernel path: pure-torch LIF (quant.lif._LIFSequence), NCHW, max_pool2d."""

    def __enter__(self):
        from quant import lif
        self.prev = lif.set_backend("torch")
        self.env = os.environ.get("HIRE_SNN_CHANNELS_LAST")
        os.environ["HIRE_SNN_CHANNELS_LAST"] = "0"

    def __exit__(self, *exc):
        from quant import lif
        lif.set_backend(self.prev)
        if self.env is None:
            os.environ.pop("HIRE_SNN_CHANNELS_LAST", None)
        else:
            os.environ["HIRE_SNN_CHANNELS_LAST"] = self.env


def epoch_seconds(name: str, args, x, y) -> tuple[float, float]:
    """(wall, process CPU) seconds of one epoch of `name` from a fresh model (same seed and
    batch order). CPU time is less sensitive to other jobs on the host than wall time."""
    method = name.removeprefix("ours-4bit-")
    if method not in METHODS:
        method = "hire" if name.endswith("-hire") else "standard"
    model = make_model(name, args, args.seed)
    ctx = reference_path() if name.endswith("-reference") else _nothing()
    with ctx:
        c0 = time.process_time()
        wall = train_model(model, x, y, args, 1, method, args.seed, torch.device("cpu"))[0]
        return wall, time.process_time() - c0


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def host_info() -> dict:
    from quant import fused_lif
    return report.host_info(torch_threads=torch.get_num_threads(), torch=torch.__version__,
                            lif_kernel=fused_lif.info())


def median_ratio(num, den):
    return statistics.median(a / b for a, b in zip(num, den))


# -- DistributedDataParallel: 2 processes vs 1 -------------------------------------------------
def ddp_worker(a) -> int:
    """One process of the DDP comparison (under torchrun or alone): train one HIRE epoch on
    --images images; rank 0 prints one JSON line {"seconds", "cpu_seconds", "images", "world"}."""
    args = run_args(a)
    dist = Dist.from_env()
    x, y = data.load("fashion-mnist", "train", a.data_dir, a.images)
    dist.start(torch.device("cpu"))
    try:
        model = build_model(args, args.seed)
        c0 = time.process_time()
        sec = train_model(model, x, y, args, 1, "hire", args.seed, torch.device("cpu"), dist=dist)[0]
        if dist.main:
            print(json.dumps({"seconds": sec, "cpu_seconds": time.process_time() - c0,
                              "images": len(x), "world": dist.world,
                              "threads": torch.get_num_threads()}), flush=True)
    finally:
        dist.stop()
    return 0


DDP_SETUPS = {  # name: (processes, torch threads per process)
    "1 process x 1 thread": (1, 1),
    "1 process x 2 threads": (1, 2),
    "2 processes x 1 thread (gloo)": (2, 1),
}


def _ddp_once(nproc, threads, a) -> dict:
    worker = [str(Path(__file__).resolve()), "--ddp-worker", "--images", str(a.ddp_images),
              "--batch-size", str(a.batch_size), "--seed", str(a.seed)]
    if a.data_dir:
        worker += ["--data-dir", a.data_dir]
    cmd = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
           if nproc > 1 else [sys.executable]) + worker
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    res = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    res["process_wall_seconds"] = wall
    res["all_processes_cpu_seconds"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return res


def ddp_compare(a) -> dict:
    """Each setup trains one HIRE epoch of --ddp-images images in fresh processes, interleaved
    (order rotated each repeat); medians. Epoch time is measured inside (rank 0), process wall
    and CPU time (all processes, start-up included) outside."""
    names = list(DDP_SETUPS)
    runs = {n: [] for n in names}
    for r in range(a.ddp_repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            res = _ddp_once(*DDP_SETUPS[name], a)
            runs[name].append(res)
            print(f"  ddp repeat {r + 1}/{a.ddp_repeats}  {name:<30} epoch {res['seconds']:6.2f} s"
                  f"  ({res['images'] / res['seconds']:6.1f} img/s), process wall "
                  f"{res['process_wall_seconds']:6.2f} s, cpu {res['all_processes_cpu_seconds']:6.2f} s",
                  flush=True)
    out = {}
    for name in names:
        rs = runs[name]
        sec = statistics.median(r["seconds"] for r in rs)
        out[name] = {"processes": DDP_SETUPS[name][0], "threads_per_process": DDP_SETUPS[name][1],
                     "epoch_seconds": sec, "images_per_s": a.ddp_images / sec,
                     "process_wall_seconds": statistics.median(r["process_wall_seconds"] for r in rs),
                     "all_processes_cpu_seconds": statistics.median(r["all_processes_cpu_seconds"] for r in rs),
                     "runs": rs}
    return {"images": a.ddp_images, "method": "hire", "repeats": a.ddp_repeats, "setups": out}


def method_costs(a, args, x, y) -> int:
    """Seconds per epoch of every training method, interleaved (the order flips each repeat),
    medians, scaled to the 60000-image epoch; the ratio to HIRE within each repeat."""
    configs = tuple(f"ours-4bit-{m}" for m in METHODS)
    n = len(x)
    print(f"bench_train --methods: {n} images, batch {a.batch_size}, T={a.timesteps}, eps "
          f"{args.train_eps:.4f}, {a.repeats} repeat(s), {torch.get_num_threads()} torch "
          "thread(s)", flush=True)
    k = min(n, a.warmup_batches * a.batch_size)
    for name in configs if k else ():
        epoch_seconds(name, args, x[:k], y[:k])
    secs = {c: [] for c in configs}
    cpus = {c: [] for c in configs}
    for r in range(a.repeats):
        for name in (configs if r % 2 == 0 else configs[::-1]):
            s, c = epoch_seconds(name, args, x, y)
            secs[name].append(s)
            cpus[name].append(c)
            print(f"  repeat {r + 1}/{a.repeats}  {name:<24} {s:7.2f} s  (cpu {c:.2f} s)",
                  flush=True)
    scale = 60000 / n
    hire = "ours-4bit-hire"
    out = {"images": n, "repeats": a.repeats, "threads": torch.get_num_threads(),
           "methods": {c.removeprefix("ours-4bit-"): {
               "seconds_per_60k_epoch": round(statistics.median(secs[c]) * scale, 1),
               "cpu_seconds_per_60k_epoch": round(statistics.median(cpus[c]) * scale, 1),
               "over_hire": round(median_ratio(secs[c], secs[hire]), 3),
               "cpu_over_hire": round(median_ratio(cpus[c], cpus[hire]), 3)} for c in configs},
           "host": host_info()}
    for m, v in out["methods"].items():
        print(f"{m:12s} {v['seconds_per_60k_epoch']:8.1f} s per 60k epoch  {v['over_hire']:5.2f}x "
              f"HIRE (cpu {v['cpu_over_hire']:.2f}x)")
    report.write_result(out, a.json)
    print(json.dumps({m: v["over_hire"] for m, v in out["methods"].items()}))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python bench/bench_train.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=6000, help="Fashion-MNIST training images (default 6000)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--timesteps", type=int, default=8)
    ap.add_argument("--periods", type=int, default=2, help="HIRE periods (default 2)")
    ap.add_argument("--train-eps", type=float, default=None, help="HIRE eps (default: train/run.py's for the dataset)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="epochs timed per configuration, interleaved; the median is reported (default 3)")
    ap.add_argument("--warmup-batches", type=int, default=2, help="untimed batches per configuration first")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip ours-4bit-reference (the slow pure-torch path)")
    ap.add_argument("--ddp-repeats", type=int, default=0,
                    help="also compare torchrun 2 processes with 1 process, this many times (default 0: skip)")
    ap.add_argument("--ddp-images", type=int, default=3072, help="images of the DDP comparison (default 3072)")
    ap.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--methods", action="store_true",
                    help="instead: the cost of every training method (standard, hire, "
                         "hire-replay, fgsm-at, pgd-at) on the 4-bit default network, pair by "
                         "pair, seconds per epoch of 60000 images and the ratio to HIRE")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default="build/bench/train.json", help="result file (default build/bench/train.json)")
    a = ap.parse_args(argv)
    for k in ("images", "batch_size", "timesteps", "periods", "repeats", "threads", "ddp_images"):
        if getattr(a, k) < 1:
            ap.error(f"--{k.replace('_', '-')} must be >= 1")
    if a.periods > a.timesteps:
        ap.error("--periods cannot exceed --timesteps")
    tune_allocator()  # as train/run.py does: every configuration gets it (one process)
    if a.ddp_worker:
        try:
            return ddp_worker(a)
        except data.DataError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
    torch.set_num_threads(a.threads)

    args = run_args(a)
    try:
        x, y = data.load("fashion-mnist", "train", a.data_dir, a.images)
    except data.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    n = len(x)
    if a.methods:
        return method_costs(a, args, x, y)
    configs = PAIRED + (("ours-float-standard",) if a.no_reference else OTHERS)
    from quant import fused_lif, lif
    t0 = time.perf_counter()
    fused = lif.fused_available()  # compiles on first use: timed here, not in an epoch
    kernel = {**fused_lif.info(), "first_load_seconds_here": time.perf_counter() - t0}
    print(f"bench_train: {n} images, batch {a.batch_size}, T={a.timesteps}, HIRE N={a.periods} "
          f"eps={args.train_eps:.4f}, {a.repeats} repeat(s), torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch thread(s), {os.cpu_count()} cpu(s); fused LIF kernel "
          f"{'loaded' if fused else 'UNAVAILABLE (' + str(fused_lif.error()) + ')'} in "
          f"{kernel['first_load_seconds_here']:.1f} s", flush=True)

    if a.warmup_batches > 0:
        k = min(n, a.warmup_batches * a.batch_size)
        for name in configs:
            epoch_seconds(name, args, x[:k], y[:k])

    secs = {name: [] for name in configs}
    cpus = {name: [] for name in configs}
    for r in range(a.repeats):
        order = (PAIRED if r % 2 == 0 else PAIRED[::-1]) + configs[len(PAIRED):]
        for name in order:
            s, c = epoch_seconds(name, args, x, y)
            secs[name].append(s)
            cpus[name].append(c)
            print(f"  repeat {r + 1}/{a.repeats}  {name:<20} {s:7.2f} s  {n / s:8.1f} img/s"
                  f"  (cpu {c:.2f} s)", flush=True)

    figs = {}
    for name in configs:
        med = statistics.median(secs[name])
        figs[name] = {"seconds_per_epoch": med, "images_per_s": n / med, "seconds_all": secs[name],
                      "cpu_seconds_per_epoch": statistics.median(cpus[name]), "cpu_seconds_all": cpus[name]}
    std, hire, snn = "ours-4bit-standard", "ours-4bit-hire", "snntorch-float"
    ratios = {  # per repeat (adjacent runs), then the median
        "hire_over_standard_time": median_ratio(secs[hire], secs[std]),
        "ours_4bit_over_snntorch_float_throughput": median_ratio(secs[snn], secs[std]),
        "hire_over_standard_cpu_time": median_ratio(cpus[hire], cpus[std]),
        "ours_4bit_over_snntorch_float_cpu_throughput": median_ratio(cpus[snn], cpus[std]),
        "ours_float_over_snntorch_float_throughput": median_ratio(secs[snn], secs["ours-float-standard"]),
        "ours_4bit_over_ours_float_throughput": median_ratio(secs["ours-float-standard"], secs[std]),
    }
    if "ours-4bit-reference" in configs:
        ratios["fast_over_reference_path_throughput"] = median_ratio(secs["ours-4bit-reference"], secs[std])
        ratios["fast_over_reference_path_cpu_throughput"] = median_ratio(cpus["ours-4bit-reference"], cpus[std])
    hr, sr = ratios["hire_over_standard_time"], ratios["ours_4bit_over_snntorch_float_throughput"]
    hc, sc = ratios["hire_over_standard_cpu_time"], ratios["ours_4bit_over_snntorch_float_cpu_throughput"]
    goals = {"hire_over_standard_time": {"goal": f"<= {HIRE_GOAL}", "met": hr <= HIRE_GOAL,
                                         "cpu_time_ratio": hc, "met_in_cpu_time": hc <= HIRE_GOAL},
             "ours_4bit_over_snntorch_float_throughput": {"goal": f">= {SNNTORCH_GOAL}",
                                                          "met": sr >= SNNTORCH_GOAL, "cpu_time_ratio": sc,
                                                          "met_in_cpu_time": sc >= SNNTORCH_GOAL}}

    print()
    w = max(len(c) for c in configs)
    print(f"{'configuration':<{w}}  {'s/epoch':>8}  {'img/s':>8}  {'cpu s':>8}   "
          f"(median of {a.repeats}, {n} images, {torch.get_num_threads()} torch thread(s))")
    for name in configs:
        f = figs[name]
        print(f"{name:<{w}}  {f['seconds_per_epoch']:8.2f}  {f['images_per_s']:8.1f}  "
              f"{f['cpu_seconds_per_epoch']:8.2f}")
    print()
    for k, v in ratios.items():
        g = goals.get(k)
        tail = f"   goal {g['goal']}: {'MET' if g['met'] else 'NOT MET'}" if g else ""
        print(f"{k:<44} {v:6.3f}{tail}")

    ddp = ddp_compare(a) if a.ddp_repeats > 0 else None
    if ddp:
        print()
        print(f"{'DDP setup (' + str(a.ddp_images) + ' images, HIRE)':<32} {'epoch s':>8} {'img/s':>8} "
              f"{'proc wall s':>11} {'cpu s':>8}")
        for name, f in ddp["setups"].items():
            print(f"{name:<32} {f['epoch_seconds']:8.2f} {f['images_per_s']:8.1f} "
                  f"{f['process_wall_seconds']:11.2f} {f['all_processes_cpu_seconds']:8.2f}")

    result = {
        "benchmark": "train",
        "config": {"images": n, "batch_size": a.batch_size, "timesteps": a.timesteps,
                   "periods": a.periods, "train_eps": args.train_eps, "repeats": a.repeats,
                   "warmup_batches": a.warmup_batches, "seed": a.seed, "arch": args.arch,
                   "torch_threads": torch.get_num_threads(),
                   "lr": args.lr, "v_th": args.v_th, "leak_shift": args.leak_shift,
                   "surrogate_ours": args.surrogate, "surrogate_snntorch": "fast_sigmoid(slope=25)"},
        "figures": figs, "ratios": ratios, "goals": goals,
        "all_goals_met": all(g["met"] for g in goals.values()),
        "lif_kernel": kernel, "ddp": ddp,
        "host": host_info(),
    }
    report.write_result(result, a.json)
    return result


if __name__ == "__main__":
    main()
