"""A model built and trained in snnTorch, written as NIR: the "bring your own model" start.

    python -m train.snntorch_model --epochs 4 --out model.nir      # the default architecture
    python train/run.py --init-from model.nir --nir-reset subtract --epochs 1   # fine-tune here

The network is the default architecture spelled as snnTorch users write it: bias-free Conv2d
and Linear layers, `snn.Leaky` neurons (reset by subtraction, at once: reset_delay=False, the
hardware's order), the readout's output summed over the T steps, the image driving every step.
Two things the hardware needs are spelled for NIR:
- OR pooling: AvgPool2d then a memoryless Leaky (beta 0, threshold 1/(2k^2), reset to zero),
  which fires iff any neuron of the window fired; quant.nir turns the pair back into the pool.
- Leaky's beta and threshold are per-neuron tensors (uniform): snnTorch's export_to_nir takes a
  LIF node's shape from them, and NIR's type check then needs the layer's full shape.
NIR's LIF resets to zero, so the file cannot say "subtract": import it with --nir-reset subtract.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python train/snntorch_model.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from core.atomic import atomic_file
from core.layer_tokens import kind_of


def _leaky(shape, beta: float, threshold: float, reset: str):
    import snntorch as snn
    return snn.Leaky(beta=torch.full(shape, float(beta)), threshold=torch.full(shape, threshold),
                     init_hidden=True, reset_mechanism=reset, reset_delay=False)


def build(layers, in_shape=(1, 28, 28), n_classes=10, betas=(0.5, 0.75), threshold=0.5,
          seed=0) -> nn.Sequential:
    """snnTorch Sequential of our layer tokens (c<N> 3x3 conv, p<k> OR pool, f<N> dense, r)."""
    torch.manual_seed(seed)
    mods, s, spiking = [], tuple(in_shape), 0
    for tok in layers:
        kind, n = kind_of(tok), int(tok[1:]) if len(tok) > 1 else 0
        beta = betas[min(spiking, len(betas) - 1)]
        if kind == "conv":
            mods += [nn.Conv2d(s[0], n, 3, padding=1, bias=False)]
            s = (n, *s[1:])
            mods += [_leaky(s, beta, threshold, "subtract")]
            spiking += 1
        elif kind == "pool":
            s = (s[0], s[1] // n, s[2] // n)
            mods += [nn.AvgPool2d((n, n), stride=(n, n)), _leaky(s, 0.0, 0.5 / (n * n), "zero")]
        elif kind == "dense":
            if len(s) > 1:
                mods += [nn.Flatten()]
            mods += [nn.Linear(int(np.prod(s)), n, bias=False)]
            s = (n,)
            mods += [_leaky(s, beta, threshold, "subtract")]
            spiking += 1
        else:
            if len(s) > 1:
                mods += [nn.Flatten()]
            mods += [nn.Linear(int(np.prod(s)), n_classes, bias=False)]
    return nn.Sequential(*mods)


def logits(net, x, timesteps: int):
    """The readout summed over T calls (snnTorch's hidden states carry between them)."""
    from snntorch import utils
    utils.reset(net)
    return sum(net(x) for _ in range(timesteps)) / timesteps


def train(net, x, y, epochs, timesteps, batch_size=128, lr=2e-3, seed=0, progress=True):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps = epochs * -(-len(x) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    bar = tqdm(total=steps, desc="snnTorch", disable=not progress)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            loss = F.cross_entropy(logits(net, x[idx], timesteps), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update()
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
    bar.close()


def accuracy(net, x, y, timesteps, batch=500) -> float:
    with torch.no_grad():
        hits = sum(int((logits(net, x[i:i + batch], timesteps).argmax(1) == y[i:i + batch]).sum())
                   for i in range(0, len(x), batch))
    return hits / len(x)


def export(net, in_shape, out: Path) -> Path:
    """snnTorch's export_to_nir, written with nir.write (atomically)."""
    import nir
    from snntorch.export_nir import export_to_nir
    with contextlib.redirect_stdout(io.StringIO()):
        graph = export_to_nir(net.eval(), torch.zeros(1, *in_shape), ignore_dims=[0])
    with atomic_file(out) as tmp:
        nir.write(tmp, graph)
    return out


def main(argv=None):
    from quant.model import ARCHS
    from train import data
    ap = argparse.ArgumentParser(prog="python -m train.snntorch_model", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the .nir file to write")
    ap.add_argument("--arch", default="fmnist-conv48",
                    help="an architecture name of quant.model.ARCHS, or tokens such as "
                         "'c4,p2,c8,p2,r' (default fmnist-conv48, the default network)")
    ap.add_argument("--dataset", default="fashion-mnist", choices=data.DATASETS)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--timesteps", type=int, default=8)
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--test-limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    for flag in ("epochs", "timesteps", "train_limit", "test_limit", "threads"):
        v = getattr(a, flag)
        if v is not None and v < 1:
            ap.error(f"--{flag.replace('_', '-')} must be >= 1")
    layers = ARCHS.get(a.arch) or [t.strip() for t in a.arch.split(",") if t.strip()]
    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        xtr, ytr = data.load(a.dataset, "train", None, a.train_limit)
        xte, yte = data.load(a.dataset, "test", None, a.test_limit)
    except data.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    in_shape, classes = data.info(a.dataset)
    try:
        net = build(layers, in_shape, classes, seed=a.seed)
    except (ValueError, KeyError) as e:
        ap.error(f"--arch {a.arch!r}: {e}")
    t0 = time.time()
    train(net, xtr, ytr, a.epochs, a.timesteps, seed=a.seed, progress=not a.no_progress)
    secs = time.time() - t0
    acc = accuracy(net, xte, yte, a.timesteps)
    export(net, in_shape, Path(a.out))
    r = {"nir": a.out, "layers": layers, "epochs": a.epochs, "train_images": len(xtr),
         "train_seconds": round(secs, 1), "snntorch_clean_acc": acc, "test_images": len(xte)}
    print(f"snnTorch {' '.join(layers)}: {a.epochs} epochs on {len(xtr)} images in {secs:.0f} s, "
          f"clean accuracy {acc:.2%} on {len(xte)} test images; wrote {a.out}")
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
