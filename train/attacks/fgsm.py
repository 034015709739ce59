"""FGSM (Goodfellow et al. 2015) through ART: the paper's one-step white-box attack."""
from __future__ import annotations

import numpy as np

from train.attacks._common import run_art
from train.attacks._registry import register


@register("fgsm")
def fgsm(model, x, y, eps, budget):
    """One-step L-inf FGSM: clip01(x + eps * sign(grad_x CE(logits, y))).

    Reads seed (the Poisson spikes of rate-coded models; direct input is deterministic),
    batch_size (default 256) and progress.
    """
    from art.attacks.evasion.fast_gradient import FastGradientMethod

    batch_size = budget.batch(256)

    def make(clf):
        return FastGradientMethod(clf, norm=np.inf, eps=eps, eps_step=eps, targeted=False,
                                  num_random_init=0, batch_size=batch_size, minimal=False)

    return run_art(model, x, y, make, f"fgsm eps={eps:.4f}", batch_size, budget.seed,
                   budget.progress)
