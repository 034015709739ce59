"""Compare a C simulation with quant.golden, image by image, without tolerance.

Checked per image: the class, every readout accumulator, and for every spike map the design
streams (each LIF layer's output and each pooled map) the number of spikes at every timestep.
The golden model records LIF spikes; pooled maps are OR-pooled from them here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quant import golden

CHUNK = 200  # images per golden call: its recorded spikes are (T, N, C, H, W) uint8


@dataclass
class Comparison:
    images: int
    mismatched: np.ndarray      # (N,) bool: any difference in this image
    acc_equal: bool
    pred_equal: bool
    spikes_equal: bool
    golden_acc: np.ndarray
    golden_pred: np.ndarray

    @property
    def mismatches(self) -> int:
        return int(self.mismatched.sum())

    @property
    def bit_exact(self) -> bool:
        return self.mismatches == 0


def golden_spike_counts(model: dict, weights: dict, codes: np.ndarray):
    """acc (N, classes), pred (N,), spikes (N, maps, T): per spike map in stream order."""
    accs, preds, counts = [], [], []
    for i in range(0, len(codes), CHUNK):
        r = golden.run(model, weights, codes[i:i + CHUNK], record=True)
        accs.append(r.acc)
        preds.append(r.pred)
        maps, lif, prev = [], iter(r.spikes), None
        for L in model["layers"]:
            if L["kind"] == "readout":
                break
            if L["kind"] == "pool":
                s = L["size"]
                T, n, c, h, w = prev.shape
                ho, wo = h // s, w // s
                prev = prev[..., :ho * s, :wo * s].reshape(T, n, c, ho, s, wo, s).max(axis=(4, 6))
            else:
                prev = next(lif)
            maps.append(prev.reshape(prev.shape[0], prev.shape[1], -1).sum(-1).T)  # (n, T)
        counts.append(np.stack(maps, axis=1) if maps else np.zeros((len(r.acc), 0, model["timesteps"])))
    return np.concatenate(accs), np.concatenate(preds), np.concatenate(counts).astype(np.int64)


def compare(model: dict, weights: dict, codes: np.ndarray, csim) -> Comparison:
    """csim: an hls.project.CSimResult of the same codes (with trace)."""
    acc, pred, spikes = golden_spike_counts(model, weights, codes)
    bad = (csim.acc != acc).any(1) | (csim.pred != pred)
    spikes_equal = True
    if csim.spikes is not None:
        sbad = (csim.spikes != spikes).any(axis=(1, 2))
        spikes_equal = not sbad.any()
        bad |= sbad
    return Comparison(images=len(codes), mismatched=bad,
                      acc_equal=bool(np.array_equal(csim.acc, acc)),
                      pred_equal=bool(np.array_equal(csim.pred, pred)),
                      spikes_equal=bool(spikes_equal), golden_acc=acc, golden_pred=pred)
