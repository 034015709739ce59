"""L-inf PGD, twice: the paper's protocol through ART, and the strong search of the suite.

pgd            the paper's (HIRE-SNN test code): a uniform random start in the eps-ball, `steps`
               signed-gradient steps of `step`, each projected onto the ball and [0, 1]
pgd-ce, pgd-cw the strong one (train.robustness): `restarts` random starts of `steps` steps of
               a cosine-decaying size on the cross-entropy or the Carlini-Wagner margin; per
               image the iterate the model got wrong (else the one of lowest margin) is kept,
               images already broken are not attacked further. Through the trained surrogate
               gradient, or `pgd-ce:S` / `pgd-cw:S` through surrogate S of quant.lif (the
               attacker picks the gradient estimate)
"""
from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from quant.lif import SURROGATES
from train.attacks._common import argmax_lowest, attack_context, device, encode, generator, run_art
from train.attacks._registry import SuiteEntry, register

LOSSES = ("ce", "cw")


@register("pgd")
def pgd(model, x, y, eps, budget):
    """The paper's PGD (ART's PyTorch implementation): optional uniform random start in the
    eps-ball, `steps` signed-gradient steps of size `step`, each followed by projection onto the
    eps-ball and a [0, 1] clamp. Reads steps, step, random_start, seed, batch_size (256),
    progress."""
    from art.attacks.evasion.projected_gradient_descent.projected_gradient_descent_pytorch \
        import ProjectedGradientDescentPyTorch

    batch_size = budget.batch(256)

    def make(clf):
        return ProjectedGradientDescentPyTorch(
            clf, norm=np.inf, eps=eps, eps_step=budget.step, max_iter=int(budget.steps),
            targeted=False, num_random_init=1 if budget.random_start else 0,
            batch_size=batch_size, random_eps=False, verbose=False)

    return run_art(model, x, y, make, f"pgd eps={eps:.4f}", batch_size, budget.seed,
                   budget.progress)


# -- the strong search ------------------------------------------------------------------------
@contextlib.contextmanager
def surrogate(model, name: str | None):
    """Every LIF layer's backward through surrogate `name` (None: the trained one)."""
    lifs = [b.lif for b in getattr(model, "blocks", ()) if hasattr(b, "lif")]
    old = [lif.surrogate for lif in lifs]
    if name is not None:
        if name not in SURROGATES:
            raise ValueError(f"unknown surrogate {name!r}; choose from {', '.join(SURROGATES)}")
        for lif in lifs:
            lif.surrogate = name
    try:
        yield
    finally:
        for lif, s in zip(lifs, old):
            lif.surrogate = s


def margin(acc: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """acc[y] - max over the other classes (> 0: right with a clear lead)."""
    zy = acc.gather(1, y[:, None])[:, 0]
    other = acc.masked_fill(F.one_hot(y, acc.shape[1]).bool(), -math.inf)
    return zy - other.max(1).values


def _objective(logits, y, loss):
    if loss == "ce":
        return F.cross_entropy(logits, y, reduction="sum")
    if loss == "cw":
        return -margin(logits, y).sum()
    raise ValueError(f"unknown loss {loss!r}; choose ce or cw")


def step_size(k: int, steps: int, eps: float, step_max: float, step_min: float) -> float:
    """Step k of `steps`: cosine from step_max * eps down to step_min * eps."""
    c = 0.5 * (1 + math.cos(math.pi * k / max(steps - 1, 1)))
    return eps * (step_min + (step_max - step_min) * c)


def search(model, x, y, eps: float, loss: str, steps: int, restarts: int, surrogate_name,
           seed: int, step_max: float, step_min: float, keep: str, batch_size: int,
           progress: bool, desc: str) -> torch.Tensor:
    """L-inf PGD with random restarts: x_adv inside the ball (the registry projects exactly).

    keep="best": per image the first iterate the model (on its 8-bit codes) got wrong, else the
    iterate of lowest margin over all restarts; images already wrong are not attacked further
    (the model's forward on an iterate is the hardware's arithmetic, so "wrong" is exact).
    keep="last": the last iterate of each image's last restart (for transfer: no target queries).
    """
    x = x.detach().float()
    out = x.clone()
    dev = device(model)
    T = int(model.cfg.timesteps)
    rate = model.cfg.encoding == "rate"
    with attack_context(model, seed), surrogate(model, surrogate_name):
        gen = torch.Generator().manual_seed(int(seed))
        enc_gen = generator(model, seed + 1) if rate else None
        n_batches = -(-len(x) // batch_size)
        bar = tqdm(total=n_batches * restarts * steps, desc=desc, unit="step",
                   disable=not progress, leave=False)
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size].to(dev), y[i:i + batch_size].to(dev)
            n = len(xb)
            best = xb.clone()
            best_m = torch.full((n,), math.inf, device=dev)
            fooled = torch.zeros(n, dtype=torch.bool, device=dev)
            lo, hi = (xb - eps).clamp(0, 1), (xb + eps).clamp(0, 1)
            for r in range(restarts):
                act = (~fooled).nonzero()[:, 0] if keep == "best" else torch.arange(n, device=dev)
                if len(act) == 0:
                    break
                delta = (torch.rand(xb.shape, generator=gen) * 2 - 1).to(dev) * eps
                xk = torch.minimum(torch.maximum(xb + delta, lo), hi)[act]
                for k in range(steps + 1):
                    xk.requires_grad_(k < steps)
                    acc = model(encode(model, xk, enc_gen))[0]
                    ya = yb[act]
                    if keep == "best":
                        with torch.no_grad():
                            wrong = argmax_lowest(acc) != ya
                            m = margin(acc, ya)
                            better = wrong | (m < best_m[act])
                            idx = act[better]
                            best[idx] = xk.detach()[better]
                            best_m[idx] = torch.where(wrong, -math.inf, m)[better]
                            fooled[act[wrong]] = True
                    if k == steps:
                        break
                    obj = _objective(acc / T, ya, loss)
                    g, = torch.autograd.grad(obj, xk)
                    with torch.no_grad():
                        a = step_size(k, steps, eps, step_max, step_min)
                        xk = xk.detach() + a * g.sign()
                        xk = torch.minimum(torch.maximum(xk, lo[act]), hi[act])
                        if keep == "best" and not rate:  # broken images leave the batch
                            still = ~fooled[act]
                            act, xk = act[still], xk[still]
                    bar.update(1)
                    if len(act) == 0:
                        break
                if keep == "last":
                    best = xk.detach()
            out[i:i + batch_size] = best.cpu()
        bar.close()
    return out


def _strong(model, x, y, eps, budget, loss, surrogate_name, name):
    """pgd-ce / pgd-cw: reads steps, restarts, step_max, step_min, seed, batch_size (500),
    progress."""
    return search(model, x, y, eps, loss, budget.steps, budget.restarts, surrogate_name,
                  budget.seed, budget.step_max, budget.step_min, "best", budget.batch(500),
                  budget.progress, f"{name} eps={eps:.4f}")


def _register_strong():
    for sur in (None, *SURROGATES):   # the suite runs pgd-ce:S, pgd-cw:S for each surrogate S
        for loss in LOSSES:
            name = f"pgd-{loss}" + (f":{sur}" if sur else "")
            suite = SuiteEntry("pgd", white_box=True, surrogate=sur) if sur else None
            register(name, suite=suite, loss=loss, surrogate_name=sur, name=name)(_strong)


_register_strong()
