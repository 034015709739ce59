"""Compare the QAT PyTorch model with the integer golden model, bit for bit.

Usage: python -m quant.verify [RUN_DIR] [--test-limit N] [--attack none|fgsm|pgd] [--eps E]

Reads RUN_DIR/checkpoint.pt, RUN_DIR/ir and the saved test vectors (RUN_DIR/vectors.npz).
When more images (or another eps) are asked for than were saved, it makes them with the
training stage's public vector maker (train.vectors). The last line printed is one JSON object;
the exit status is 1 when any agreement is below 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from quant import golden
from quant import ir as IR
from quant.checkpoint import CheckpointError, load as load_checkpoint

ATTACKS = ("none", "fgsm", "pgd")


def compare(model, model_json, weights, codes, batch_size=250, progress=True):
    """Per-image agreement of predictions, accumulators and all spikes of every layer."""
    n = len(codes)
    agree = {"prediction": np.zeros(n, bool), "accumulator": np.zeros(n, bool),
             "spikes": np.zeros(n, bool)}
    preds = np.zeros(n, np.int64)
    model.eval()
    for i in tqdm(range(0, n, batch_size), desc="verify", unit="batch", disable=not progress):
        c = codes[i:i + batch_size]
        with torch.no_grad():
            acc, _, rec = model(torch.from_numpy(c).float() / 256.0, record=True)
        g = golden.run(model_json, weights, c, record=True)
        a = (rec[-1][0] / rec[-1][1]).double()
        exact = (a == a.round()).all(1).numpy()
        a_int = a.round().long().numpy()
        sl = slice(i, i + len(c))
        agree["accumulator"][sl] = exact & (a_int == g.acc).all(1)
        agree["prediction"][sl] = acc.argmax(1).numpy() == g.pred
        same = np.ones(len(c), bool)
        for (s, _), gs in zip(rec[:-1], g.spikes):
            s = s.numpy()
            same &= (s.astype(np.uint8) == gs).reshape(s.shape[0], len(c), -1).all(axis=(0, 2))
            same &= ((s == 0) | (s == 1)).reshape(s.shape[0], len(c), -1).all(axis=(0, 2))
        agree["spikes"][sl] = same
        preds[sl] = g.pred
    return agree, preds


def load_vectors(run_dir: Path, attack: str, limit: int | None, eps: float | None):
    """(codes, labels) for the attack from vectors.npz, making more when it holds too few."""
    key = "clean" if attack == "none" else attack
    path = run_dir / "vectors.npz"
    saved = None
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            saved_eps = float(z["eps"]) if "eps" in z.files else None
            if key in z.files and (eps is None or attack == "none" or saved_eps == eps):
                saved = (z[key], z["labels"])
    if saved is not None and (limit is None or limit <= len(saved[0])):
        return saved[0][:limit], saved[1][:limit]
    from train.vectors import make_vectors  # the training stage's public maker
    return make_vectors(run_dir, attack, limit, eps)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m quant.verify", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", default="runs/latest", help="run folder (default runs/latest)")
    ap.add_argument("--test-limit", type=int, default=None, help="number of test images (default: all saved)")
    ap.add_argument("--attack", choices=ATTACKS, default="none", help="which test vectors")
    ap.add_argument("--eps", type=float, default=None, help="attack budget (default: the run's)")
    ap.add_argument("--batch-size", type=int, default=250)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    if a.test_limit is not None and a.test_limit < 1:
        ap.error("--test-limit must be >= 1")
    if a.eps is not None and not 0 <= a.eps <= 1:
        ap.error("--eps must be in [0, 1]")
    run = Path(a.run)
    try:
        model, _ = load_checkpoint(run)
        model_json, weights = IR.load(run)
        codes, labels = load_vectors(run, a.attack, a.test_limit, a.eps)
    except (CheckpointError, IR.IRError, FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    agree, preds = compare(model, model_json, weights, codes, a.batch_size, not a.no_progress)
    out = {"run": str(run), "attack": a.attack, "images": int(len(codes)),
           "weight_bits": model.bits,
           "prediction_agreement": float(agree["prediction"].mean()),
           "accumulator_agreement": float(agree["accumulator"].mean()),
           "spike_agreement": float(agree["spikes"].mean()),
           "golden_accuracy": float((preds == labels).mean())}
    print(json.dumps(out))
    ok = all(out[k] == 1.0 for k in ("prediction_agreement", "accumulator_agreement", "spike_agreement"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
