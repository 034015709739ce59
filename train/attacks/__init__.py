"""The attack library: every L-inf attack of the flow once, by name, with one contract.

    attack(model, x, y, eps, budget) -> x_adv

x: images (N, C, H, W) in [0, 1] (rate-coded models encode them inside: the attacker perturbs
the image), y: int64 labels; x_adv has x's shape, dtype and device, lies in [0, 1] and inside
the L-inf ball of radius eps (exactly: the registry projects), and is bit-identical for the
same budget (`Budget`: seed, batch size, steps, queries, sources...). Keyword fields override
the budget's: `pgd(model, x, y, 8/255, seed=3)`. `run_attack(name, ...)` runs any of `names()`:

    fgsm                      the paper's FGSM (ART)                               fgsm.py
    pgd                       the paper's PGD: 7 steps of 0.01, random start (ART) pgd.py
    pgd-ce, pgd-cw[:S]        the suite's PGD: restarts, cosine steps, CE or CW,   pgd.py
                              through the trained surrogate or surrogate S
    square                    ART's Square (score-based black box)                 square.py
    transfer-snn, -ann        PGD crafted on a cached source model                 transfer.py

The paper's protocol (HIRE-SNN test code): perturbations in [0, 1] pixel space, the model in eval
mode, input gradients by full BPTT through the surrogate gradient the model trains with (ART sees
a plain classifier whose forward is `model.logits`; rate-coded models get their Poisson encoder
inside it, with a straight-through gradient).

An attack is one module here: a function `fn(model, x, y, eps, budget)` decorated with
`@register("name")`; the package imports every module of this folder, so nothing else changes
(docs/ARCHITECTURE.md, "How to add an attack"). ART is imported lazily, by the attacks that use
it: `from train.attacks import poisson` stays cheap.
"""
from __future__ import annotations

from core.registry import import_all
from train.attacks._common import accuracy, argmax_lowest, poisson, predict
from train.attacks._registry import (ATTACKS, PAPER_EPS, PAPER_PGD, REGISTRY, SUITE, Budget,
                                     SuiteEntry, families, names, register, run_attack, sweep)
from train.attacks.fgsm import fgsm
from train.attacks.pgd import LOSSES, margin, pgd
from train.attacks.square import square, square_codes
from train.attacks.transfer import SOURCES, FloatANN, transfer, transfer_source

import_all(__name__, __path__, skip=())  # every attack module registers itself

__all__ = ["ATTACKS", "LOSSES", "PAPER_EPS", "PAPER_PGD", "REGISTRY", "SOURCES", "SUITE",
           "Budget", "FloatANN", "SuiteEntry", "families", "accuracy", "argmax_lowest", "fgsm",
           "margin", "names", "pgd", "poisson", "predict", "register", "run_attack", "square",
           "square_codes", "sweep", "transfer", "transfer_source"]
