"""Interval analysis: the register widths under which no input in range can overflow.

Ranges are derived per output channel from the integer weights and the input range (codes
0..255 or spikes 0..1), then pushed through T timesteps of the exact LIF recurrence on
intervals. Leak (u - floor(u/2^k)) is monotone, so an interval maps to an interval; the reset
is not monotone and is bounded case by case.
"""
from __future__ import annotations

import numpy as np


def signed_bits(lo: int, hi: int) -> int:
    """Smallest two's-complement width holding every integer in [lo, hi]."""
    b = 1
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return b


def current_range(w_int: np.ndarray, in_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel [min, max] of one timestep's input current."""
    w = w_int.reshape(w_int.shape[0], -1).astype(np.int64)
    return np.where(w < 0, w, 0).sum(1) * in_max, np.where(w > 0, w, 0).sum(1) * in_max


def _leak(u: int, k: int) -> int:
    return u - (u >> k)


def membrane_range(i_lo: int, i_hi: int, theta: int, k: int, T: int) -> tuple[int, int]:
    """[min, max] the membrane register takes (before and after reset) over T timesteps."""
    lo = hi = 0
    m_lo = m_hi = 0
    for _ in range(T):
        p_lo, p_hi = _leak(lo, k) + i_lo, _leak(hi, k) + i_hi
        m_lo, m_hi = min(m_lo, p_lo), max(m_hi, p_hi)
        parts = []  # the post-reset image of [p_lo, p_hi]: no-fire part and fire part
        if p_lo <= theta - 1:
            parts.append((p_lo, min(p_hi, theta - 1)))
        if p_hi >= theta:
            parts.append((max(p_lo, theta) - theta, p_hi - theta))
        lo, hi = min(a for a, _ in parts), max(b for _, b in parts)
        m_lo, m_hi = min(m_lo, lo), max(m_hi, hi)
    return m_lo, m_hi


def layer_ranges(w_int, in_max, theta, leak_shift, T):
    """(current range, membrane range) of a LIF layer, each the union over its channels."""
    ilo, ihi = current_range(w_int, in_max)
    mem = [membrane_range(int(a), int(b), theta, leak_shift, T) for a, b in zip(ilo, ihi)]
    return ((int(ilo.min()), int(ihi.max())),
            (min(m[0] for m in mem), max(m[1] for m in mem)))


def readout_ranges(w_int, in_max, T):
    """(current range, accumulator range) of the readout: currents summed over T."""
    ilo, ihi = current_range(w_int, in_max)
    return (int(ilo.min()), int(ihi.max())), (int(ilo.min()) * T, int(ihi.max()) * T)
