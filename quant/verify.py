"""Compare the QAT PyTorch model with the integer golden model, bit for bit.

Usage: python -m quant.verify [RUN_DIR] [--test-limit N] [--attack none|fgsm|pgd|SET]

Reads RUN_DIR/checkpoint.pt, RUN_DIR/ir and the saved test vectors (RUN_DIR/vectors.npz). More
images or another eps than the run saved are made by the training stage, which owns the attacks:
`python -m train.vectors RUN_DIR --n N [--eps E]` (data flows one way: quant/ never imports
train/). The last line printed is one JSON object.
Exit status: 0 all agreements exactly 1, 1 any below 1, 2 an error (missing or corrupt run).
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from tqdm import tqdm

from core import golden
from core.errors import EXIT_MISMATCH, EXIT_OK, cli, run_cli
from core.network import Network
from core.runs import ATTACKS as ATTACK_CHOICES, add_vector_arguments, check_count, load_vectors, run_folder
from quant.checkpoint import load as load_checkpoint

ATTACKS = ATTACK_CHOICES


def compare(model, net: Network, codes, batch_size=250, progress=True):
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
        g = golden.run(net, c, record=True)
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


@cli
def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m quant.verify", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_vector_arguments(ap, "checkpoint.pt, ir/ and vectors.npz", count="--test-limit")
    ap.add_argument("--batch-size", type=int, default=250)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    check_count(ap, a.test_limit, "--test-limit")
    run = run_folder(a.run)
    model, _ = load_checkpoint(run)
    net = Network.load(run)
    codes, labels = load_vectors(run, a.attack, a.test_limit, net.in_shape)
    agree, preds = compare(model, net, codes, a.batch_size, not a.no_progress)
    out = {"run": str(run), "attack": a.attack, "images": int(len(codes)),
           "weight_bits": model.bits,
           "prediction_agreement": float(agree["prediction"].mean()),
           "accumulator_agreement": float(agree["accumulator"].mean()),
           "spike_agreement": float(agree["spikes"].mean()),
           "golden_accuracy": float((preds == labels).mean())}
    print(json.dumps(out))
    ok = all(out[k] == 1.0 for k in ("prediction_agreement", "accumulator_agreement", "spike_agreement"))
    return EXIT_OK if ok else EXIT_MISMATCH


if __name__ == "__main__":
    run_cli(main)
