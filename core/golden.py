"""The integer golden model: numpy integer arithmetic on the IR, the reference for all hardware.

No float appears after the input codes. Layers run over all T timesteps at once (as the QAT
model and the hardware pipeline do); the LIF recurrence is the one of docs/ARCHITECTURE.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass
class GoldenResult:
    spikes: list  # per LIF layer, (T, N, ...) uint8, in IR order (empty unless recorded)
    acc: np.ndarray  # (N, classes) int64 readout accumulators (units 2^-acc_frac_bits)
    pred: np.ndarray  # (N,) class: lowest index of the maximum accumulator


def acc_dtype(bits: int):
    """The narrowest numpy integer that holds a `bits`-wide two's-complement value.

    Exact for sums of products whose every partial sum lies in the derived range, which
    interval analysis guarantees for a layer's current (each partial sum is the current of
    a sub-window, inside the same bounds). int16 einsum is ~3x faster than int32 matmul.
    """
    return np.int16 if bits <= 16 else np.int32 if bits <= 32 else np.int64


def conv_int(x: np.ndarray, w: np.ndarray, padding: int, dtype=np.int32) -> np.ndarray:
    """Integer 2-D convolution (cross-correlation, stride 1): (N,C,H,W) x (O,C,k,k) -> (N,O,H',W')."""
    k = w.shape[-1]
    xp = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, (k, k), axis=(2, 3))  # (N, C, H', W', k, k)
    n, c, ho, wo = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
    out = np.einsum("pk,ok->po", cols, w.reshape(w.shape[0], -1).astype(dtype))
    return out.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2)


def dense_int(x: np.ndarray, w: np.ndarray, dtype=np.int32) -> np.ndarray:
    """Integer dense layer on C-order flattened inputs: (N, ...) x (O, F) -> (N, O)."""
    return np.einsum("nf,of->no", x.reshape(x.shape[0], -1).astype(dtype, copy=False), w.astype(dtype))


def or_pool(s: np.ndarray, size: int) -> np.ndarray:
    """Max (OR) pooling of binary spike maps (M, C, H, W) over non-overlapping windows."""
    m, c, h, w = s.shape
    ho, wo = h // size, w // size
    out = s[:, :, 0:ho * size:size, 0:wo * size:size].copy()
    for dy in range(size):
        for dx in range(size):
            if dy or dx:
                np.maximum(out, s[:, :, dy:ho * size:size, dx:wo * size:size], out=out)
    return out


def lif_int(currents: np.ndarray, threshold: int, leak_shift: int, T: int,
            direct: bool = False, observe: dict | None = None,
            membrane_bits: int = 64) -> np.ndarray:
    """Integer LIF over T timesteps -> spikes (T, N, ...) uint8.

    currents: (T, N, ...) one frame per timestep, or with direct=True (N, ...) one frame
    reused at every timestep (the first layer's current, computed once per image).
    observe, when given, receives the membrane's [min, max] over all steps (before and after
    reset), to check the widths that interval analysis derived.
    """
    shape = currents.shape if direct else currents.shape[1:]
    dtype = np.int64 if membrane_bits > 32 else np.int32
    if threshold > np.iinfo(dtype).max:   # a threshold the membrane never reaches (IR-legal)
        dtype = np.int64
    u = np.zeros(shape, dtype=dtype)
    out = np.empty((T, *shape), dtype=np.uint8)
    th = dtype(threshold)
    tmp = np.empty_like(u)
    for t in range(T):
        np.right_shift(u, leak_shift, out=tmp)
        u -= tmp
        u += currents if direct else currents[t]
        s = u >= th
        if observe is not None:
            _widen(observe, "membrane", u)
        np.subtract(u, th, out=u, where=s)
        out[t] = s
        if observe is not None:
            _widen(observe, "membrane", u)
    return out


def _widen(observe: dict, key: str, a: np.ndarray):
    if a.size:
        lo, hi = observe.get(key, (0, 0))
        observe[key] = (min(lo, int(a.min())), max(hi, int(a.max())))


def _weight_current(L, x: np.ndarray) -> np.ndarray:
    dtype = acc_dtype(L.current_bits)
    if L.kind == "conv":
        return conv_int(x, L.weights, L.padding, dtype)
    return dense_int(x, L.weights, dtype)


def run(net, codes: np.ndarray, record: bool = True, observe: dict | None = None) -> GoldenResult:
    """Run a core.network.Network on input codes (N, C, H, W) uint8.

    observe, when given, is filled per layer name with the observed current, membrane and
    accumulator [min, max].
    """
    T = net.timesteps
    codes = np.asarray(codes)
    if codes.dtype != np.uint8 or codes.ndim != 4 or codes.shape[1:] != tuple(net.in_shape):
        raise ValueError(f"codes must be uint8 of shape (N, {', '.join(map(str, net.in_shape))}), "
                         f"got {codes.dtype} {codes.shape}")
    n = codes.shape[0]
    h = codes  # one frame per image (direct input) until the first LIF layer
    frames = False
    spikes = []
    for L in net.layers:
        if L.kind == "pool":
            h = or_pool(h, L.size)
            continue
        cur = _weight_current(L, h)
        if frames:
            cur = cur.reshape(T, n, *cur.shape[1:])
        obs = None if observe is None else observe.setdefault(L.name, {})
        if obs is not None:
            _widen(obs, "current", cur)
        if L.kind == "readout":
            acc = (cur.astype(np.int64).sum(0) if frames else cur.astype(np.int64) * T)
            if obs is not None:
                _widen(obs, "acc", acc)
            pred = np.argmax(acc, axis=1)  # numpy returns the lowest index among ties
            return GoldenResult(spikes, acc, pred)
        out = lif_int(cur, L.threshold, L.leak_shift, T, direct=not frames, observe=obs,
                      membrane_bits=L.membrane_bits)
        if record:
            spikes.append(out)
        h = out.reshape(T * n, *out.shape[2:])  # spikes stay uint8; layers widen as needed
        frames = True
    raise ValueError("IR has no readout layer")


def predict(net, codes: np.ndarray, chunk: int = 100):
    """(acc, pred) for any number of images, in chunks that keep memory small."""
    accs = [run(net, codes[i:i + chunk], record=False).acc for i in range(0, len(codes), chunk)]
    acc = np.concatenate(accs) if accs else np.zeros((0, net.classes), np.int64)
    return acc, np.argmax(acc, axis=1)
