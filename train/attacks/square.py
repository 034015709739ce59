"""The Square attack (Andriushchenko et al. 2020): score-based L-inf black box.

square         ART's, on the model's logits (registered)
square_codes   the same search on 8-bit input codes scored by any function: the hardware
               attack of train.robustness scores with the integer golden model (what an
               attacker holding the device sees), which is no torch model, hence no registry
"""
from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from train.attacks._common import run_art
from train.attacks._registry import SuiteEntry, register


@register("square", suite=SuiteEntry("square", white_box=False))
def square(model, x, y, eps, budget):
    """ART's Square attack: random square patches of +-eps kept when they lower the margin of
    the model's logits; `queries` iterations, one restart, no gradient. Reads queries, p_init,
    seed, batch_size (256: each batch is one ART generate, whose random draws depend on it),
    progress."""
    from art.attacks.evasion import SquareAttack

    batch_size = budget.batch(256)

    def make(clf):
        return SquareAttack(clf, norm=np.inf, eps=eps, max_iter=int(budget.queries),
                            p_init=budget.p_init, nb_restarts=1, batch_size=batch_size,
                            verbose=False)

    # direct-input models are deterministic: unchanged images are answered from a cache
    return run_art(model, x, y, make, f"square eps={eps:.4f}", batch_size, budget.seed,
                   budget.progress, cached=model.cfg.encoding == "direct")


def _p_selection(p_init: float, it: int, n_iters: int) -> float:
    """The fraction of pixels a square covers at iteration `it` (Andriushchenko et al. 2020)."""
    it = int(it / n_iters * 10000)
    for bound, div in ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64),
                       (6000, 128), (8000, 256)):
        if it <= bound:
            return p_init / div
    return p_init / 512


def square_codes(scores, codes: np.ndarray, labels: np.ndarray, radius: int, queries: int = 300,
                 p_init: float = 0.3, seed: int = 0, progress: bool = True, desc: str = "square"):
    """L-inf Square attack (Andriushchenko et al. 2020) on 8-bit codes, scored by `scores`.

    scores(codes uint8 (n, C, H, W)) -> (n, classes) array (e.g. the golden model's readout
    accumulators). Codes move inside [c - radius, c + radius] and [0, 255]; the loss is the
    margin score[y] - max other; an image stops when the class (argmax, ties to the lowest
    index) is wrong. One query per image per iteration. Deterministic for a seed.
    Returns (adversarial codes uint8, queries used per image).
    """
    rng = np.random.default_rng(seed)
    c0 = codes.astype(np.int16)
    lo, hi = np.clip(c0 - radius, 0, 255), np.clip(c0 + radius, 0, 255)
    n, ch, h, w = codes.shape
    y = np.asarray(labels, np.int64)

    def evaluate(c, yy):
        s = np.asarray(scores(c.astype(np.uint8)), np.float64)
        zy = s[np.arange(len(s)), yy]
        other = s.copy()
        other[np.arange(len(s)), yy] = -np.inf
        wrong = np.argmax(s, axis=1) != yy  # numpy's argmax: ties to the lowest index
        return zy - other.max(1), wrong

    # init: vertical stripes of +-radius
    best = np.clip(c0 + radius * rng.choice([-1, 1], size=(n, ch, 1, w)), lo, hi)
    m, wrong = evaluate(best, y)
    used = np.ones(n, np.int64)
    bar = tqdm(range(queries - 1), desc=desc, unit="query", disable=not progress, leave=False)
    rows, cols = np.arange(h)[None, :], np.arange(w)[None, :]
    for it in bar:
        act = np.flatnonzero(~wrong)
        if len(act) == 0:
            break
        p = _p_selection(p_init, it, queries)
        s = min(max(int(round(math.sqrt(p * h * w))), 1), h - 1)
        k = len(act)
        r0 = rng.integers(0, h - s + 1, size=k)
        q0 = rng.integers(0, w - s + 1, size=k)
        win = (((rows >= r0[:, None]) & (rows < r0[:, None] + s))[:, None, :, None]
               & ((cols >= q0[:, None]) & (cols < q0[:, None] + s))[:, None, None, :])
        sign = rng.choice([-1, 1], size=(k, ch, 1, 1))
        cur = best[act]
        new = np.where(win, np.clip(c0[act] + radius * sign, lo[act], hi[act]), cur)
        same = ~(new != cur).reshape(k, -1).any(1)  # the window changed nothing: flip its sign
        if same.any():
            flip = np.where(win, np.clip(c0[act] - radius * sign, lo[act], hi[act]), cur)
            new[same] = flip[same]
        m_new, wrong_new = evaluate(new, y[act])
        used[act] += 1
        better = (m_new < m[act]) | wrong_new
        best[act[better]] = new[better]
        m[act[better]] = m_new[better]
        wrong[act[wrong_new]] = True
        if it % 20 == 0:
            bar.set_postfix(robust=f"{(~wrong).mean():.3f}")
    return best.astype(np.uint8), used
