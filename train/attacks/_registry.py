"""The attack registry: one contract for every attack, and one dataclass of budgets.

An attack is `fn(model, x, y, eps, budget) -> x_adv`, registered by name with `@register`;
`run_attack(name, ...)` calls it. The registered function is what the library exports: it
checks the arguments, answers eps 0 with a copy of x, and projects the result exactly onto the
eps-ball and [0, 1] (attacks' own float arithmetic may drift by an ulp), so each attack only
searches.
"""
from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass, replace

import torch

from train.attacks._common import accuracy, check_eps, check_xy, positive_int, real

PAPER_EPS = 8 / 255
PAPER_PGD = dict(steps=7, step=0.01, random_start=True)  # Budget's defaults
ATTACKS = ("fgsm", "pgd")  # the paper's protocol: what a run sweeps and saves as vectors

REGISTRY: dict = {}
SUITE: dict = {}   # name -> SuiteEntry, for the attacks train.robustness runs


@dataclass(frozen=True)
class SuiteEntry:
    """How the strong suite (train.robustness) runs an attack: its family (`--attacks`), white
    or black box (the masking check compares them), and the surrogate gradient a white-box
    attack goes through (the suite runs those of `--surrogates`)."""

    family: str
    white_box: bool
    surrogate: str | None = None


@dataclass(frozen=True)
class Budget:
    """What an attack may spend. One dataclass for every attack; each reads only its fields:

    seed, progress            every attack (random starts, ART's draws, Poisson spikes; a bar)
    batch_size                images per batch; None: the attack's own (ART 256, pgd-* 500).
                              Seeded results depend on it: the random draws are per batch
    steps, step, random_start pgd (the paper's: 7 steps of 0.01 from a random start)
    steps, restarts, step_max, step_min
                              pgd-ce / pgd-cw: steps per restart, a step of step_max * eps
                              decaying to step_min * eps (cosine)
    queries, p_init           square
    transfer_steps, sources   transfer-snn / transfer-ann: PGD steps on the source model, and
                              the source models by kind ({"snn": ..., "ann": ...})
    """

    seed: int = 0
    batch_size: int | None = None
    progress: bool = True
    steps: int = PAPER_PGD["steps"]
    step: float = PAPER_PGD["step"]
    random_start: bool = PAPER_PGD["random_start"]
    restarts: int = 1
    step_max: float = 0.25
    step_min: float = 0.025
    queries: int = 1000
    p_init: float = 0.3
    transfer_steps: int = 20
    sources: dict | None = None

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if self.batch_size is not None:
            positive_int(self.batch_size, "batch_size")
        for name in ("steps", "restarts", "queries", "transfer_steps"):
            positive_int(getattr(self, name), name)
        if real(self.step, "step") <= 0:
            raise ValueError(f"step must be > 0, got {self.step}")
        if not 0 < real(self.step_min, "step_min") <= real(self.step_max, "step_max"):
            raise ValueError(f"need 0 < step_min <= step_max, got {self.step_min}, "
                             f"{self.step_max}")
        if not 0 < real(self.p_init, "p_init") <= 1:
            raise ValueError(f"p_init must be in (0, 1], got {self.p_init}")

    def batch(self, default: int) -> int:
        return default if self.batch_size is None else self.batch_size


def register(name: str, /, suite: SuiteEntry | None = None, **bound):
    """Decorator: `fn(model, x, y, eps, budget, **bound) -> x_adv` becomes the attack `name`;
    with `suite`, train.robustness runs it too (no list there to edit).

    Returns the attack as the library exports it: `attack(model, x, y, eps, budget=None,
    **fields)`, where fields override the budget's (`fgsm(model, x, y, eps, seed=3)`); it
    checks the arguments, returns a copy of x at eps 0 and projects fn's result exactly onto
    the eps-ball and [0, 1] (same shape, dtype and device as x). `bound` fixes fn's other
    arguments, so one search registers several attacks (pgd-ce:atan, ...).
    """
    if name in REGISTRY:
        raise ValueError(f"attack {name!r} is registered twice")

    def deco(fn):
        @functools.wraps(fn)
        def attack(model, x, y, eps: float = PAPER_EPS, budget: Budget | None = None,
                   **fields) -> torch.Tensor:
            budget = replace(budget or Budget(), **fields)
            eps = check_eps(eps)
            check_xy(model, x, y)
            if eps == 0.0:
                return x.clone()
            x_adv = fn(model, x, y, eps, budget, **bound).to(x.device, x.dtype)
            x0 = x.detach()
            return torch.minimum(torch.maximum(x_adv, x0 - eps), x0 + eps).clamp_(0.0, 1.0)

        REGISTRY[name] = attack
        if suite is not None:
            SUITE[name] = suite
        return attack

    return deco


def names() -> tuple[str, ...]:
    """Every registered attack, in registration order."""
    return tuple(REGISTRY)


def families() -> tuple[str, ...]:
    """The suite's attack families, in registration order."""
    return tuple(dict.fromkeys(e.family for e in SUITE.values()))


def get(name: str):
    if name not in REGISTRY:
        raise ValueError(f"unknown attack {name!r}; choose one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def run_attack(name: str, model, x, y, eps: float = PAPER_EPS, budget: Budget | None = None,
               **fields) -> torch.Tensor:
    """x_adv of the attack `name` (fields override the budget's, as for the attack itself)."""
    return get(name)(model, x, y, eps, budget, **fields)


def sweep(model, x, y, eps_list, attacks=ATTACKS, *, batch_size: int = 256,
          progress: bool = True, **fields) -> list[dict]:
    """Accuracy under each attack at each eps: [{"attack", "eps", "acc"}, ...].

    fields (steps, step, random_start, seed, ...) make the Budget; seed also seeds the accuracy
    of rate-coded models. eps == 0 rows are the clean accuracy.
    """
    for a in attacks:
        get(a)
    eps_list = [check_eps(e) for e in eps_list]
    budget = Budget(batch_size=batch_size, progress=progress, **fields)
    clean = None
    rows = []
    for a in attacks:
        for eps in eps_list:
            if eps == 0.0:
                if clean is None:
                    clean = accuracy(model, x, y, seed=budget.seed)
                acc = clean
            else:
                x_adv = run_attack(a, model, x, y, eps, budget)
                acc = accuracy(model, x_adv, y, seed=budget.seed)
            rows.append({"attack": a, "eps": eps, "acc": acc})
    return rows
