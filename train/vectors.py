"""Test vectors (8-bit input codes) of a run, made with the same functions the run used.

Usage: python -m train.vectors [RUN] [--n N] [--eps E] [--no-progress]

Rewrites RUN/vectors.npz (atomically) with the first N test images: `clean`, `fgsm`, `pgd`
(uint8 codes, N x C x H x W), `labels` and `eps`, from the run's checkpoint and config. The
later stages (quant.verify, hls.csim, the RTL simulation) read only that file; this is how
they get more images or another attack budget than the run saved.
Exit status: 0 written, 2 an error (missing or corrupt run, bad flag).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from core.atomic import atomic_file
from core.errors import RunError, cli, run_cli
from core.runs import DEFAULT_RUN
from quant.checkpoint import load as load_checkpoint
from train import attacks, data


def make_vectors(run_dir, attack: str = "none", limit: int | None = None, eps: float | None = None,
                 progress: bool = True):
    """(codes uint8 (N, C, H, W), labels) of the first `limit` test images, attacked or clean."""
    run_dir = Path(run_dir)
    model, extra = load_checkpoint(run_dir)
    cfg = extra.get("args") or json.loads((run_dir / "metrics.json").read_text())["config"]
    a = SimpleNamespace(**cfg)
    x, y = data.load(a.dataset, "test", a.data_dir, limit)
    eps = a.eps if eps is None else eps
    if attack in attacks.ATTACKS:
        from train.experiment import paper_budget
        x = attacks.run_attack(attack, model, x, y, eps, paper_budget(a, eps, progress))
    elif attack != "none":
        raise ValueError(f"unknown attack {attack!r}")
    return model.input_codes(x).numpy(), y.numpy().astype(np.int64)


def write_vectors(run_dir, n: int | None = None, eps: float | None = None,
                  progress: bool = True) -> Path:
    """RUN/vectors.npz with n clean, FGSM and PGD images (all test images when n is None)."""
    run_dir = Path(run_dir)
    model, extra = load_checkpoint(run_dir)
    cfg = extra.get("args") or json.loads((run_dir / "metrics.json").read_text())["config"]
    eps = cfg["eps"] if eps is None else eps
    sets = {}
    for attack, key in (("none", "clean"), ("fgsm", "fgsm"), ("pgd", "pgd")):
        sets[key], labels = make_vectors(run_dir, attack, n, eps, progress)
    with atomic_file(run_dir / "vectors.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **sets, labels=labels, eps=np.float64(eps))
    return run_dir / "vectors.npz"


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.vectors", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder with checkpoint.pt (default {DEFAULT_RUN})")
    ap.add_argument("--n", type=int, default=None, help="test images (default: all)")
    ap.add_argument("--eps", type=float, default=None, help="attack budget (default: the run's)")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    if a.n is not None and a.n < 1:
        ap.error("--n must be >= 1")
    if a.eps is not None and not 0 <= a.eps <= 1:
        ap.error("--eps must be in [0, 1]")
    if not Path(a.run).exists():
        raise RunError(f"{a.run}: no such run folder")
    path = write_vectors(a.run, a.n, a.eps, not a.no_progress)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
