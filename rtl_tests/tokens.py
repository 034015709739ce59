"""Token words of the RTL streams and the golden model's expectation for one kernel.

A spike token is the word {eot, group, y, x, mask} (core.hw.design.SpikeMap.token_bits); a
current vector is LANES values of `elem_bits` bits, lane 0 lowest. The functions here turn golden
spike maps and currents into those words and back, so a kernel can be driven and checked
token by token against core.golden, in the order core.compare fixes.
"""
from __future__ import annotations

import numpy as np

from core import compare, golden
from core.hw.design import SpikeMap


def token_word(m: SpikeMap, y: int, x: int, g: int, mask: int, eot: int = 0) -> int:
    return ((((eot << m.g_bits | g) << m.y_bits | y) << m.x_bits | x) << m.slice) | mask


def token_words(m: SpikeMap, tokens_per_t) -> list[int]:
    """Words of one image: each timestep's tokens (k, 5) then the end-of-timestep token."""
    out = []
    for toks in tokens_per_t:
        out += [token_word(m, y, x, g, mask) for y, x, g, mask, _ in toks.tolist()]
        out.append(token_word(m, 0, 0, 0, 0, eot=1))
    return out


def decode(m: SpikeMap, words) -> list[list[tuple]]:
    """Output words -> per timestep [(y, x, g, mask)], split at the end-of-timestep tokens."""
    out, cur = [], []
    for v in (int(w) for w in words):
        mask = v & ((1 << m.slice) - 1)
        v >>= m.slice
        x = v & ((1 << m.x_bits) - 1)
        v >>= m.x_bits
        y = v & ((1 << m.y_bits) - 1)
        v >>= m.y_bits
        g = v & ((1 << m.g_bits) - 1)
        eot = v >> m.g_bits
        if eot:
            out.append(cur)
            cur = []
        else:
            cur.append((y, x, g, mask))
    assert not cur, f"{len(cur)} tokens after the last end-of-timestep token"
    return out


def map_tokens(spikes: np.ndarray, m: SpikeMap) -> list[list[np.ndarray]]:
    """(T, N, C, H, W) spike maps -> [image][t] raster-order tokens of a LIF layer's output."""
    masks = compare._masks(spikes, m.slice)
    return [[compare.raster_tokens(masks[t, j]) for t in range(spikes.shape[0])]
            for j in range(spikes.shape[1])]


def as_list(tokens_per_t) -> list[list[tuple]]:
    return [[tuple(r[:4]) for r in toks.tolist()] for toks in tokens_per_t]


def current_words(cur: np.ndarray, lanes: int, bits: int) -> list[int]:
    """(N, O, H, W) or (N, O) currents -> words per (image, y, x, group), lane 0 lowest."""
    if cur.ndim == 2:
        cur = cur[:, :, None, None]
    n, o, h, w = cur.shape
    groups = -(-o // lanes)
    c = np.zeros((n, groups * lanes, h, w), np.int64)
    c[:, :o] = cur
    c = c.reshape(n, groups, lanes, h, w).transpose(0, 3, 4, 1, 2).reshape(-1, lanes)
    mask = (1 << bits) - 1
    return [sum((int(v) & mask) << (l * bits) for l, v in enumerate(row)) for row in c.tolist()]


def lif_maps(cur: np.ndarray, layer, T: int, direct: bool) -> np.ndarray:
    """Golden LIF spikes (T, N, C, H, W) (dense layers get H = W = 1)."""
    s = golden.lif_int(cur, layer.threshold, layer.leak_shift, T, direct=direct,
                       membrane_bits=layer.membrane_bits)
    return s if s.ndim == 5 else s[..., None, None]
