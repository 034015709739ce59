"""Comparison with the golden model, and the exact token streams a streaming backend must emit.

Every backend is checked against core.golden without tolerance. Beyond class and accumulators,
a streaming backend's spike streams are fixed to the token: for each spike stream of the Design
and each timestep, the slices (y, x, group, mask) in the order the hardware sends them:
- a LIF layer's fire pass (first layer, conv, dense) visits (y, x, group) in raster order with
  the group fastest and sends every non-empty slice;
- an OR pool sends, for each input slice in arrival order, the channels of its pooled slice
  that were not yet set in this timestep (if any).
`golden_tokens` computes these; `compare` checks a backend's run (`BackendRun`, the one result
type of every backend) image by image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import golden
from core.frames import FRAME_ERROR
from core.hw.kernels import kernel

CHUNK = 200  # images per golden call: its recorded spikes are (T, N, C, H, W) uint8


def stream_spikes(design, result: golden.GoldenResult) -> dict:
    """Spike maps (T, N, C, H, W) of every spike stream, from a golden run with record=True."""
    out, lif, prev = {}, iter(result.spikes), None
    by_layer = {s.layer: s for s in design.spike_streams}
    for L in design.network.layers:
        if L.kind == "readout":
            break
        if L.kind == "pool":
            T, n = prev.shape[:2]
            flat = prev.reshape(T * n, *prev.shape[2:])
            prev = golden.or_pool(flat, L.size).reshape(T, n, *prev.shape[2:3],
                                                        prev.shape[3] // L.size,
                                                        prev.shape[4] // L.size)
        else:
            prev = next(lif)
            if prev.ndim == 3:                     # dense: (T, N, C) -> (T, N, C, 1, 1)
                prev = prev[..., None, None]
        out[by_layer[L.name].name] = prev
    return out


def _masks(spikes: np.ndarray, slice_: int) -> np.ndarray:
    """(T, N, C, H, W) spikes -> (T, N, H, W, G) slice masks (bit l = channel g*slice + l)."""
    T, n, c, h, w = spikes.shape
    g = -(-c // slice_)
    s = np.zeros((T, n, g * slice_, h, w), np.uint64)
    s[:, :, :c] = spikes
    s = s.reshape(T, n, g, slice_, h, w)
    weights = (np.uint64(1) << np.arange(slice_, dtype=np.uint64)).reshape(1, 1, 1, -1, 1, 1)
    return (s * weights).sum(3, dtype=np.uint64).transpose(0, 1, 3, 4, 2)


def raster_tokens(masks_t: np.ndarray) -> np.ndarray:
    """(H, W, G) masks of one image and timestep -> tokens (k, 5): y, x, g, mask, emit index."""
    h, w, g = masks_t.shape
    y, x, gg = np.nonzero(masks_t)
    emit = (y * w + x) * g + gg
    return np.stack([y, x, gg, masks_t[y, x, gg].astype(np.int64), emit], 1).astype(np.int64)


def pool_tokens(inp: np.ndarray, size: int, out_h: int, out_w: int) -> np.ndarray:
    """Tokens an OR pool sends for one timestep's input tokens (k, 5), in arrival order; the
    emit column is the index of the input token that produced each output token."""
    seen: dict = {}
    rows = []
    for i, (y, x, g, m, _) in enumerate(inp.tolist()):
        py, px = y // size, x // size
        if py >= out_h or px >= out_w:
            continue
        old = seen.get((py, px, g), 0)
        fresh = m & ~old
        seen[(py, px, g)] = old | m
        if fresh:
            rows.append((py, px, g, fresh, i))
    return np.array(rows, np.int64).reshape(-1, 5)


@dataclass
class Golden:
    """The golden model's outputs for a batch of images, as a streaming backend must give them."""

    acc: np.ndarray          # (N, classes) int64
    pred: np.ndarray         # (N,)
    tokens: list | None      # [image][stream name][t] -> (k, 5) int64: y, x, g, mask, emit

    def counts(self, design) -> tuple[np.ndarray, np.ndarray]:
        """(slices, spikes) per image, spike stream (trace order) and timestep: (N, S, T)."""
        streams = design.spike_streams
        n, T = len(self.acc), design.timesteps
        slices = np.zeros((n, len(streams), T), np.int64)
        spikes = np.zeros_like(slices)
        for i, img in enumerate(self.tokens):
            for k, s in enumerate(streams):
                for t, tok in enumerate(img[s.name]):
                    slices[i, k, t] = len(tok)
                    spikes[i, k, t] = sum(int(m).bit_count() for m in tok[:, 3].tolist())
        return slices, spikes


def tokens_from_maps(design, maps: dict, timesteps: int) -> list:
    """[image][stream][t] tokens of spike maps {stream: (T, N, C, H, W)} of the LIF layers
    (pooled streams are derived from their input stream's tokens, as the hardware does)."""
    pools = {p.out_stream.name: p for p in design.processes
             if p.in_stream is not None and kernel(p.kernel).input_pool(p) > 1}
    masks = {s.name: _masks(maps[s.name], s.spikes.slice) for s in design.spike_streams
             if s.name not in pools}
    n = next(iter(masks.values())).shape[1] if masks else 0
    tokens = []
    for j in range(n):
        img, prev = {}, None
        for s in design.spike_streams:
            if s.name in pools:
                p = pools[s.name]
                img[s.name] = [pool_tokens(prev[t], p.params["size"], p.params["out_h"],
                                           p.params["out_w"]) for t in range(timesteps)]
            else:
                img[s.name] = [raster_tokens(masks[s.name][t, j]) for t in range(timesteps)]
            prev = img[s.name]
        tokens.append(img)
    return tokens


def golden_tokens(design, codes: np.ndarray) -> Golden:
    """Class, accumulators and every spike stream's tokens of the golden model on `codes`."""
    net = design.network
    accs, preds, tokens = [], [], []
    for i in range(0, len(codes), CHUNK):
        r = golden.run(net, codes[i:i + CHUNK], record=True)
        accs.append(r.acc)
        preds.append(r.pred)
        if design.spike_streams:
            tokens += tokens_from_maps(design, stream_spikes(design, r), net.timesteps)
        else:
            tokens += [{} for _ in range(len(r.acc))]
    acc = np.concatenate(accs) if accs else np.zeros((0, net.classes), np.int64)
    pred = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    return Golden(acc=acc, pred=pred, tokens=tokens)


@dataclass
class BackendRun:
    """What one backend run gave for N images, the same for every backend (C simulation, RTL
    simulation, a board): what `compare` checks against the golden model."""

    acc: np.ndarray                     # (N, classes) int64 accumulators
    pred: np.ndarray                    # (N,) int64 class (the class word without its error bit)
    error: np.ndarray                   # (N,) bool: the class word's malformed-frame bit
    slices: np.ndarray | None = None    # (N, spike streams, T) tokens sent per timestep
    spikes: np.ndarray | None = None    # (N, spike streams, T) spikes sent per timestep
    seconds: float | None = None        # wall time of the run
    done_cycle: np.ndarray | None = None  # (N,) cycle of each result's last word (RTL)

    @classmethod
    def from_words(cls, words, **kw) -> BackendRun:
        """From each image's classes + 1 result words (the class word with its error bit, then
        the accumulators in 32-bit two's complement; signed or unsigned integers)."""
        w = np.asarray(words).astype(np.int64)
        if w.ndim != 2 or w.shape[1] < 2:
            raise ValueError(f"result words must be (N, classes + 1), got {w.shape}")
        word0 = w[:, 0] & 0xFFFFFFFF
        acc = w[:, 1:] & 0xFFFFFFFF
        return cls(acc=np.where(acc >= 1 << 31, acc - (1 << 32), acc),
                   pred=word0 & ~FRAME_ERROR, error=(word0 & FRAME_ERROR) != 0, **kw)


@dataclass
class Comparison:
    images: int
    mismatched: np.ndarray      # (N,) bool: any difference in this image
    acc_equal: bool
    pred_equal: bool
    spikes_equal: bool          # every compared spike stream (counts or tokens) equal
    golden: Golden

    @property
    def mismatches(self) -> int:
        return int(self.mismatched.sum())

    @property
    def bit_exact(self) -> bool:
        return self.mismatches == 0

    @property
    def golden_acc(self) -> np.ndarray:
        return self.golden.acc

    @property
    def golden_pred(self) -> np.ndarray:
        return self.golden.pred

    def summary(self, run: BackendRun, labels=None) -> dict:
        """The report keys every backend's command line prints (JSON)."""
        out = {"images": self.images, "mismatches": self.mismatches,
               "bit_exact": self.bit_exact, "acc_equal": self.acc_equal,
               "class_equal": self.pred_equal, "spike_counts_equal": self.spikes_equal,
               "frame_errors": int(np.asarray(run.error).sum())}
        if labels is not None:
            labels = np.asarray(labels)
            out["accuracy"] = round(float((run.pred == labels).mean()), 4)
            out["golden_accuracy"] = round(float((self.golden.pred == labels).mean()), 4)
        return out

    def mismatch_lines(self, run: BackendRun, who: str, limit: int = 10) -> list[str]:
        """One line per mismatched image (the first `limit`): the backend's and golden's."""
        return [f"mismatch image {i}: {who} class {run.pred[i]}"
                f"{' (frame error)' if run.error[i] else ''} acc {run.acc[i].tolist()}, golden "
                f"class {self.golden.pred[i]} acc {self.golden.acc[i].tolist()}"
                for i in np.flatnonzero(self.mismatched)[:limit]]


def golden_outputs(net, codes: np.ndarray) -> Golden:
    """Class and accumulators of the golden model, without token streams (tokens None)."""
    acc, pred = golden.predict(net, codes)
    return Golden(acc=acc, pred=pred, tokens=None)


def compare(design_or_net, codes: np.ndarray, run: BackendRun, errors=None,
            golden_result: Golden | None = None) -> Comparison:
    """A backend's run against the golden model, image by image, without tolerance.

    Class, accumulators and the frame-error bit (`errors`: the expected flags, default none),
    and, when the run reports them, the tokens and spikes sent on each spike stream per
    timestep (those need the Design; class and accumulators alone need only the Network).
    """
    traced = run.slices is not None or run.spikes is not None
    design = design_or_net if hasattr(design_or_net, "spike_streams") else None
    if traced and design is None:
        raise ValueError("comparing spike streams needs the Design, not only the Network")
    g = golden_result
    if g is None:
        g = (golden_tokens(design, codes) if traced
             else golden_outputs(design.network if design else design_or_net, codes))
    acc, pred = np.asarray(run.acc), np.asarray(run.pred)
    want_err = np.zeros(len(codes), bool) if errors is None else np.asarray(errors, bool)
    bad = (acc != g.acc).any(1) | (pred != g.pred) | (np.asarray(run.error) != want_err)
    spikes_equal = True
    if traced:
        g_slices, g_spikes = g.counts(design)
        sbad = np.zeros(len(codes), bool)
        if run.slices is not None:
            sbad |= (np.asarray(run.slices) != g_slices).any(axis=(1, 2))
        if run.spikes is not None:
            sbad |= (np.asarray(run.spikes) != g_spikes).any(axis=(1, 2))
        spikes_equal = not sbad.any()
        bad |= sbad
    return Comparison(images=len(codes), mismatched=bad,
                      acc_equal=bool(np.array_equal(acc, g.acc)),
                      pred_equal=bool(np.array_equal(pred, g.pred)),
                      spikes_equal=bool(spikes_equal), golden=g)
