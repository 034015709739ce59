"""AutoAttack's white-box pair (Croce & Hein, ICML 2020): APGD on the cross-entropy and on the
difference-of-logits ratio, through ART's AutoProjectedGradientDescent.

APGD adapts its step per image (halving it where progress stalls, from 2 eps) and keeps a
momentum, so it needs no step-size tuning; the DLR loss is invariant to the logits' scale, which
defeats a model whose readout saturates the cross-entropy. Each runs through the trained
surrogate gradient (apgd-ce, apgd-dlr) or through surrogate S of quant.lif (apgd-ce:S,
apgd-dlr:S): the suite runs the latter for every surrogate it sweeps. One random start, as
AutoAttack's standard version runs it (its step schedule stands in for restarts; on the test
fixture a second start took twice the time for one more broken image in 40). Reads steps (iterations,
the suite's 50), seed, batch_size (256), progress.
"""
from __future__ import annotations

import numpy as np

from quant.lif import SURROGATES
from train.attacks._common import run_art
from train.attacks._registry import SuiteEntry, register
from train.attacks.pgd import surrogate

LOSS_TYPES = {"ce": "cross_entropy", "dlr": "difference_logits_ratio"}


def _apgd(model, x, y, eps, budget, loss, surrogate_name, name):
    from art.attacks.evasion import AutoProjectedGradientDescent

    batch_size = budget.batch(256)

    def make(clf):
        return AutoProjectedGradientDescent(
            clf, norm=np.inf, eps=eps, eps_step=2 * eps, max_iter=int(budget.steps),
            targeted=False, nb_random_init=1, batch_size=batch_size,
            loss_type=LOSS_TYPES[loss], verbose=False)

    with surrogate(model, surrogate_name):
        return run_art(model, x, y, make, f"{name} eps={eps:.4f}", batch_size, budget.seed,
                       budget.progress)


def _register():
    for sur in (None, *SURROGATES):
        for loss in LOSS_TYPES:
            name = f"apgd-{loss}" + (f":{sur}" if sur else "")
            suite = SuiteEntry("apgd", white_box=True, surrogate=sur) if sur else None
            register(name, suite=suite, loss=loss, surrogate_name=sur, name=name)(_apgd)


_register()
