"""Train a quantized SNN (HIRE or standard), attack it, report energy, hand off to hardware.

    python train/run.py --quant 4bit            # Fashion-MNIST, HIRE, T=8, eps 11/255
    python train/run.py --init-from model.nir --epochs 1   # fine-tune a NIR model (snnTorch, ...)

Writes a run folder (default runs/<dataset>-<method>-<quant>-<time>, linked as runs/latest):
checkpoint.pt (atomic), ir/ (the hardware IR, for quantized direct-input models),
vectors.npz (8-bit codes of the evaluated test images: clean, fgsm, pgd; labels),
metrics.json, and prints a summary table.

Several processes, CPU or GPUs, the same flags (DistributedDataParallel; gloo / nccl):

    torchrun --nproc_per_node 2 train/run.py --quant 4bit --out runs/ddp

--batch-size stays the effective minibatch (each of N processes takes 1/N of it), so the
learning rate and schedule need no change; rank 0 writes the run folder and runs the attacks.
Exit status: 0 done, 2 an error (bad flag, missing data, unusable --out).
"""
from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction
from pathlib import Path

if __package__ in (None, ""):  # `python train/run.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Before torch loads its OpenMP runtime: idle worker threads sleep instead of spinning. On a
# 2-core host that other jobs share, spinning threads made 2-thread training 2-4x slower than
# 1 thread; sleeping ones cost nothing measurable on an idle host (docs/TRAINING.md, "Speed").
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_TRAIN_EPS = {"fashion-mnist": 11 / 255, "digits": 8 / 255,
                     "cifar10": 2 / 255, "cifar100": 2 / 255}
DEFAULT_ARCH = {"fashion-mnist": "fmnist-conv48", "digits": "fmnist-conv",
                "cifar10": "vgg5", "cifar100": "vgg5"}
DEFAULT_SWEEP = "2/255,4/255,8/255,0.05,0.1"
# Leak shifts k (leak 1 - 2^-k): the first spiking layer's (the one the pixels drive) and every
# later layer's. Chosen by the strong suite's worst case (docs/TRAINING.md, ablation).
DEFAULT_LEAK_SHIFTS = (1, 2)


def default_leak_shifts(arch: str) -> list[int]:
    """The default leak shift of each spiking layer of `arch`: DEFAULT_LEAK_SHIFTS spelled out."""
    from core.layer_tokens import n_spiking
    from quant.model import ARCHS
    n = n_spiking(ARCHS[arch])
    first, rest = DEFAULT_LEAK_SHIFTS
    return [first] + [rest] * (n - 1)


def number(s: str) -> float:
    """A float or a fraction such as 8/255."""
    try:
        return float(Fraction(s.strip()))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number or fraction: {s!r}") from None


def eps_value(s: str) -> float:
    v = number(s)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"eps must be in [0, 1] (pixel scale), got {s}")
    return v


def fraction(s: str) -> float:
    v = number(s)
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {s}")
    return v


def eps_list(s: str) -> list[float]:
    return [eps_value(p) for p in s.split(",") if p.strip()]


def positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def nonneg_int(s: str) -> int:
    v = int(s) if s.lstrip("-").isdigit() else None
    if v is None or v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {s!r}")
    return v


def leak_shifts(s: str) -> int | list[int]:
    """--leak-shift: one k for every spiking layer ("2") or one per spiking layer ("1,2")."""
    ks = [p.strip() for p in s.split(",")]
    try:
        vals = [int(k) for k in ks]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 2 or 1,2; got {s!r}") from None
    bad = [k for k in vals if not 1 <= k <= 15]
    if bad:
        raise argparse.ArgumentTypeError(f"each shift must be in 1..15 (leak 1 - 2^-k), got {bad[0]}")
    return vals[0] if len(vals) == 1 else vals


def parser() -> argparse.ArgumentParser:
    from quant.lif import SURROGATES
    from quant.model import ARCHS, ENCODINGS
    from quant.quantizers import QUANT_CHOICES
    from train.data import DATASETS
    from train.hire import METHODS

    ap = argparse.ArgumentParser(prog="python train/run.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_argument_group("model")
    g.add_argument("--quant", choices=QUANT_CHOICES, default="4bit",
                   help="weight precision (power-of-two scales; input always 8-bit codes). Default 4bit")
    g.add_argument("--arch", choices=list(ARCHS), default=None,
                   help="network: fmnist-conv48 (16/48-channel conv SNN, default for "
                        "fashion-mnist: chosen by the strong suite, docs/TRAINING.md), fmnist-conv "
                        "(16/32 channels, default for digits), vgg5 (default for CIFAR), vgg11")
    g.add_argument("--timesteps", type=positive_int, default=None,
                   help="timesteps T (default 8 for direct input, 32 for --encoding rate)")
    g.add_argument("--encoding", choices=ENCODINGS, default="direct",
                   help="direct: the image drives the first layer every timestep (HIRE-SNN); "
                        "rate: Poisson spike trains (the paper's rate-coded baseline)")
    g.add_argument("--leak-shift", type=leak_shifts, default=None,
                   help="membrane leak 1 - 2^-k per timestep: one k for every spiking layer, or a "
                        "comma list with one k per spiking layer, first layer first (default 1,2,...: "
                        "leak 0.5 in the layer the pixels drive, 0.75 after it, chosen by the strong "
                        "suite's worst case: docs/TRAINING.md; the paper-style 0.875 is k=3)")
    g.add_argument("--v-th", type=number, default=0.5, help="initial (trainable) threshold")
    g.add_argument("--surrogate", choices=SURROGATES, default="pwl",
                   help="spike surrogate gradient (default pwl: 0.3*max(0, 1-|U/Vth-1|), as the paper)")
    g = ap.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default="fashion-mnist")
    g.add_argument("--data-dir", default=None,
                   help="folder with the dataset files (default: ./data/<dataset>, then the "
                        "Debian package's /usr/share/datasets/fashion-mnist)")
    g.add_argument("--train-limit", type=positive_int, default=None, help="use the first N training images")
    g.add_argument("--test-limit", type=positive_int, default=None,
                   help="evaluate clean accuracy on the first N test images (default all)")
    g.add_argument("--attack-limit", type=positive_int, default=1000,
                   help="attack and save vectors for the first N test images (default 1000)")
    g = ap.add_argument_group("training")
    g.add_argument("--method", choices=METHODS, default="hire",
                   help="hire: crafted input noise from the timesteps (default); standard: plain "
                        "BPTT; hire-replay: HIRE with every period a full T-step replay of the "
                        "image (N passes per minibatch); fgsm-at / pgd-at: adversarial-training "
                        "baselines (train/"
                        "adversarial.py: FGSM with a random start, Wong et al. 2020; PGD, Madry et "
                        "al. 2018), budget --train-eps")
    g.add_argument("--at-steps", type=positive_int, default=None,
                   help="adversarial training: signed-gradient steps per minibatch (default 1 "
                        "for fgsm-at, 7 for pgd-at)")
    g.add_argument("--at-step", type=number, default=None,
                   help="adversarial training: the step as a multiple of --train-eps (default "
                        "1.25 for fgsm-at, 2.5/7 for pgd-at)")
    g.add_argument("--periods", type=positive_int, default=2,
                   help="HIRE periods N per minibatch (default 2); with hire-replay, replays")
    g.add_argument("--train-eps", type=eps_value, default=None,
                   help="HIRE noise budget, and the adversarial-training budget (default 11/255 "
                        "on fashion-mnist, for the default network and leaks: the strongest that "
                        "keeps clean accuracy at 88%%, by the strong suite, docs/TRAINING.md; "
                        "8/255 on digits; 2/255 on CIFAR as in the paper)")
    g.add_argument("--eps-ramp", type=fraction, default=0.0,
                   help="HIRE noise schedule: the budget grows linearly from 0 to --train-eps over "
                        "this fraction of the training batches (default 0: constant)")
    g.add_argument("--noise-step", type=number, default=1.0,
                   help="HIRE signed-gradient step per period, as a multiple of the budget "
                        "(default 1: with 2 periods the second sees an FGSM image)")
    g.add_argument("--noise-init", choices=("clean", "uniform", "persistent"), default="clean",
                   help="HIRE's first period: the clean image (the paper), uniform noise in the "
                        "budget's ball (every timestep then trains on a perturbed image), or "
                        "persistent: the noise this image ended with last epoch (the steps "
                        "accumulate across epochs, ATTA-style; float16 copy of the training set)")
    g.add_argument("--consistency", type=number, default=0.0, metavar="B",
                   help="HIRE loss of the periods after the first: 0 (default) cross-entropy on the "
                        "noisy image, as the paper; B > 0: B * KL(first period's prediction || "
                        "this period's), TRADES-style (accuracy from the first period, robustness "
                        "from the rest)")
    g.add_argument("--ema", type=fraction, default=0.0,
                   help="keep an exponential moving average of the weights with this decay per "
                        "optimizer step and end training on it (default 0: off)")
    g.add_argument("--epochs", type=positive_int, default=5)
    g.add_argument("--batch-size", type=positive_int, default=128,
                   help="effective minibatch (default 128); under torchrun each of N processes "
                        "takes 1/N of it. Larger: scale --lr by sqrt(batch/128) (docs/TRAINING.md)")
    g.add_argument("--lr", type=number, default=2e-3, help="peak Adam learning rate (one-cycle schedule)")
    g.add_argument("--seed", type=nonneg_int, default=0)
    g = ap.add_argument_group("evaluation")
    g.add_argument("--eps", type=eps_value, default=8 / 255, help="FGSM/PGD budget (default 8/255)")
    g.add_argument("--pgd-steps", type=positive_int, default=7)
    g.add_argument("--pgd-step", type=number, default=0.01,
                   help="PGD step (default 0.01, the paper's); the sweep uses max(this, 2.5*eps/steps) "
                        "so large eps are reachable")
    g.add_argument("--no-random-start", action="store_true", help="PGD without the uniform random start")
    g.add_argument("--sweep-eps", type=eps_list, default=eps_list(DEFAULT_SWEEP),
                   help=f"eps values of the FGSM/PGD sweep (default {DEFAULT_SWEEP})")
    g.add_argument("--blackbox-epochs", type=nonneg_int, default=1,
                   help="epochs of the separately seeded source model for the black-box transfer "
                        "attack (0 skips it; default 1)")
    g = ap.add_argument_group("bring your own model (NIR)")
    g.add_argument("--init-from", default=None, metavar="FILE.nir",
                   help="start from a NIR graph (snnTorch's export_to_nir + nir.write, or "
                        "`python -m quant.nir export`): its layers, leaks and thresholds replace "
                        "--arch / --leak-shift / --v-th, its weights are quantised post-training, "
                        "then --epochs of --method fine-tune them")
    g.add_argument("--nir-dt", type=number, default=1e-4,
                   help="the time step the graph's time constants are read at (default 1e-4 s, "
                        "snnTorch's)")
    g.add_argument("--nir-reset", choices=("refuse", "subtract"), default="refuse",
                   help="a LIF that resets to zero (NIR's LIF; snnTorch's export): refuse "
                        "(default) or import it as reset by subtraction, the hardware's")
    g = ap.add_argument_group("output")
    g.add_argument("--out", default=None, help="run folder (default runs/<dataset>-<method>-<quant>-<time>)")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: cuda if available, else cpu. Under torchrun with cuda, process i "
                        "uses GPU LOCAL_RANK")
    g.add_argument("--threads", type=positive_int, default=None,
                   help="torch threads per process (default: torch's, one per core; torchrun "
                        "sets 1 per process)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    return ap


def nir_architecture(ap, args) -> None:
    """--init-from: the graph's layers, leaks and timesteps in args (errors name the node)."""
    from core.errors import FlowError
    from quant import nir as N
    from train import data
    for flag, v in (("--arch", args.arch), ("--leak-shift", args.leak_shift)):
        if v is not None:
            ap.error(f"{flag} comes from the NIR graph with --init-from; drop it")
    if args.encoding != "direct" or args.quant == "float":
        ap.error("--init-from builds a quantized direct-input model (the hardware's)")
    if not (args.nir_dt > 0):
        ap.error("--nir-dt must be > 0")
    try:
        imp = N.from_nir(N.read_graph(args.init_from), args.nir_dt, args.nir_reset)
        in_shape, classes = data.info(args.dataset)
    except (FlowError, data.DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if tuple(imp.in_shape) != tuple(in_shape) or imp.n_classes != classes:
        ap.error(f"--init-from: the graph takes {tuple(imp.in_shape)} images into "
                 f"{imp.n_classes} classes; {args.dataset} has {tuple(in_shape)} and {classes}")
    args.arch, args.layers, args.leak_shift = "nir", list(imp.layers), list(imp.leak_shifts)
    args.timesteps = args.timesteps or imp.timesteps


def main(argv=None):
    ap = parser()
    args = ap.parse_args(argv)
    from core.layer_tokens import n_spiking
    from quant.model import ARCHS
    from train.experiment import Experiment, ExperimentError
    if args.pgd_step <= 0:
        ap.error("--pgd-step must be > 0")
    if args.lr <= 0:
        ap.error("--lr must be > 0")
    if args.noise_step <= 0:
        ap.error("--noise-step must be > 0")
    if args.consistency < 0:
        ap.error("--consistency must be >= 0")
    if args.at_step is not None and args.at_step <= 0:
        ap.error("--at-step must be > 0")
    if (args.at_steps is not None or args.at_step is not None) and not args.method.endswith("-at"):
        ap.error("--at-steps / --at-step apply to --method fgsm-at or pgd-at")
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda":
        if not torch.cuda.is_available():
            ap.error("--device cuda: no CUDA device is available (use --device cpu or auto)")
    args.layers = None
    if args.init_from is not None:
        nir_architecture(ap, args)
    args.arch = args.arch or DEFAULT_ARCH[args.dataset]
    args.timesteps = args.timesteps or (32 if args.encoding == "rate" else 8)
    args.train_eps = DEFAULT_TRAIN_EPS[args.dataset] if args.train_eps is None else args.train_eps
    n = n_spiking(args.layers or ARCHS[args.arch])
    if args.leak_shift is None:
        args.leak_shift = default_leak_shifts(args.arch)
    elif isinstance(args.leak_shift, list) and len(args.leak_shift) != n:
        ap.error(f"--leak-shift: {len(args.leak_shift)} values for the {n} spiking layers "
                 f"of {args.arch}; give one k, or one per spiking layer")
    if args.periods > args.timesteps and args.method != "hire-replay":
        ap.error(f"--periods ({args.periods}) cannot exceed --timesteps ({args.timesteps})")
    from train.experiment import tune_allocator
    tune_allocator()
    try:
        Experiment(args).run()
    except ExperimentError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
