"""Test vectors (8-bit input codes) of a run, made with the same functions the run used.

quant.verify and the hardware stages read RUN/vectors.npz; when they need more images or
another eps than the run saved, this makes them from the checkpoint and the run's config.
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

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
    if attack == "fgsm":
        x = attacks.fgsm(model, x, y, eps, seed=a.seed, progress=progress)
    elif attack == "pgd":
        from train.experiment import pgd_kw
        x = attacks.pgd(model, x, y, eps, **pgd_kw(a, eps), progress=progress)
    elif attack != "none":
        raise ValueError(f"unknown attack {attack!r}")
    return model.input_codes(x).numpy(), y.numpy().astype(np.int64)
