"""White-box and black-box L-inf attacks on a QuantSNN, through ART.

The paper's protocol (HIRE-SNN test code): perturbations in [0, 1] pixel space, the model in
eval mode, input gradients by full BPTT through the same surrogate gradient the model trains
with (ART sees a plain classifier whose forward is `model.logits`). FGSM: one step of eps;
PGD: eps = 8/255, 7 steps of 0.01, a uniform random start in the eps-ball, L-inf projection
and [0, 1] clamp after every step.

Rate-coded models get their Poisson encoder inside the classifier's forward, with a
straight-through gradient (d spikes / d image = 1), so the attacker perturbs the image.

ART is imported lazily: `from train.attacks import poisson` stays cheap.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import numbers

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

ATTACKS = ("fgsm", "pgd")
PAPER_EPS = 8 / 255
PAPER_PGD = dict(steps=7, step=0.01, random_start=True)


# -- encoding ---------------------------------------------------------------------------------
def poisson(x: torch.Tensor, T: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Poisson (Bernoulli per timestep) spike trains (T, N, C, H, W) of images x in [0, 1].

    Each pixel fires with probability equal to its intensity at each of T timesteps. The
    gradient is straight-through: spikes = bernoulli(rate) + (rate - rate.detach()), which has
    exactly the sampled 0/1 values in the forward pass and d spikes / d x = 1 inside [0, 1]
    (the same estimator as rate + (bernoulli(rate) - rate).detach(), without its rounding).
    """
    if isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 1:
        raise ValueError(f"T (timesteps) must be an integer >= 1, got {T!r}")
    rate = x.clamp(0.0, 1.0).unsqueeze(0).expand(int(T), *x.shape)
    spikes = torch.bernoulli(rate.detach(), generator=generator)
    return spikes + (rate - rate.detach())


def _generator(model, seed) -> torch.Generator:
    return torch.Generator(device=_device(model)).manual_seed(int(seed))


def _device(model) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _encode(model, x, generator):
    """What the model consumes for images x: x itself (direct) or Poisson spikes (rate)."""
    if model.cfg.encoding == "rate":
        return poisson(x, int(model.cfg.timesteps), generator)
    return x


class LogitsOf(nn.Module):
    """A plain classifier view of a QuantSNN for ART: images in, logits (readout / T) out."""

    def __init__(self, model, generator: torch.Generator | None = None):
        super().__init__()
        self.snn = model
        self.generator = generator

    def forward(self, x):
        return self.snn.logits(_encode(self.snn, x, self.generator))


# -- prediction -------------------------------------------------------------------------------
def argmax_lowest(acc: torch.Tensor) -> torch.Tensor:
    """Row-wise argmax with ties to the lowest index (the hardware's rule)."""
    c = acc.shape[1]
    idx = torch.arange(c, device=acc.device).expand_as(acc)
    top = acc.max(dim=1, keepdim=True).values
    return torch.where(acc == top, idx, c).min(dim=1).values


@contextlib.contextmanager
def _eval(model):
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def predict(model, x, batch_size: int = 512, seed: int = 0, progress: bool = False):
    """Class predictions (int64, N): argmax of the readout accumulator `model(x)[0]`."""
    _check_images(model, x)
    _check_batch(batch_size)
    gen = _generator(model, seed) if model.cfg.encoding == "rate" else None
    dev = _device(model)
    out = []
    with _eval(model), torch.no_grad():
        for i in tqdm(range(0, len(x), batch_size), desc="predict", unit="batch",
                      disable=not progress, leave=False):
            xb = x[i:i + batch_size].to(dev, torch.float32)
            acc = model(_encode(model, xb, gen))[0]
            out.append(argmax_lowest(acc).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64)


def accuracy(model, x, y, batch_size: int = 512, seed: int = 0, progress: bool = False) -> float:
    """Fraction of x classified as y (rate-coded models: Poisson spikes seeded by `seed`)."""
    y = torch.as_tensor(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
    if len(x) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    pred = predict(model, x, batch_size=batch_size, seed=seed, progress=progress)
    return float((pred == y.cpu().long()).double().mean())


# -- argument checks --------------------------------------------------------------------------
def _real(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def _check_eps(eps):
    eps = _real(eps, "eps")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must be in [0, 1] (pixel units; the paper uses 8/255), got {eps}")
    return eps


def _check_batch(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")


def _check_images(model, x):
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError("x must be a tensor of images (N, C, H, W) in [0, 1]; attacks and "
                         "predictions take images, rate-coded models encode them internally")
    if tuple(x.shape[1:]) != tuple(model.cfg.in_shape):
        raise ValueError(f"x images are {tuple(x.shape[1:])}, the model takes "
                         f"{tuple(model.cfg.in_shape)}")


def _check_xy(model, x, y):
    _check_images(model, x)
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or len(y) != len(x):
        raise ValueError(f"y must be a 1-D tensor of {len(x)} labels")


# -- attacks ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _attack_context(model, seed):
    """Eval mode, frozen parameters (their .grad kept intact: ART zeroes the model's grads),
    numpy and torch global RNGs seeded for the attack and restored afterwards."""
    was = model.training
    params = list(model.parameters())
    saved = [(p.requires_grad, p.grad) for p in params]
    np_state, torch_state = np.random.get_state(), torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    model.eval()
    for p in params:
        p.requires_grad_(False)
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    try:
        yield
    finally:
        for p, (rg, g) in zip(params, saved):
            p.requires_grad_(rg)
            p.grad = g
        model.train(was)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)


def _classifier(model, generator, cached: bool = False):
    from art.estimators.classification.pytorch import PyTorchClassifier

    dev = _device(model)
    cls = PyTorchClassifier
    if cached:
        class Cached(PyTorchClassifier):
            """predict() answers images it has seen from a cache (a deterministic model gives
            the same logits again): ART's Square attack re-predicts every image each iteration."""
            memo: dict = {}

            def predict(self, x, batch_size=128, **kw):
                keys = [hashlib.blake2b(xi.tobytes(), digest_size=16).digest() for xi in x]
                todo = [i for i, k in enumerate(keys) if k not in self.memo]
                if todo:
                    new = super().predict(x[todo], batch_size=batch_size, **kw)
                    for i, row in zip(todo, new):
                        self.memo[keys[i]] = row
                return np.stack([self.memo[k] for k in keys]) if keys else np.zeros((0, self.nb_classes), np.float32)

        cls = Cached
    return cls(
        model=LogitsOf(model, generator), loss=nn.CrossEntropyLoss(),
        input_shape=tuple(model.cfg.in_shape), nb_classes=int(model.cfg.n_classes),
        clip_values=(0.0, 1.0), device_type="gpu" if dev.type == "cuda" else "cpu")


def _run(model, x, y, eps, make_attack, desc, batch_size, seed, progress, cached=False):
    """Generate adversarial x in our own batches (tqdm), one ART generate per batch."""
    if eps == 0.0:
        return x.clone()
    x_np = x.detach().cpu().numpy().astype(np.float32)
    y_np = y.detach().cpu().numpy().astype(np.int64)
    out = np.empty_like(x_np)
    with _attack_context(model, seed):
        attack = make_attack(_classifier(model, _generator(model, seed), cached))
        for i in tqdm(range(0, len(x_np), batch_size), desc=desc, unit="batch",
                      disable=not progress, leave=False):
            out[i:i + batch_size] = attack.generate(x_np[i:i + batch_size], y_np[i:i + batch_size])
    x_adv = torch.from_numpy(out).to(x.device, x.dtype)
    # ART projects in float32 around its own arithmetic; make the bounds exact here
    x0 = x.detach()
    return torch.minimum(torch.maximum(x_adv, x0 - eps), x0 + eps).clamp_(0.0, 1.0)


def fgsm(model, x, y, eps: float = PAPER_EPS, batch_size: int = 256, *, seed: int = 0,
         progress: bool = True) -> torch.Tensor:
    """One-step L-inf FGSM: clip01(x + eps * sign(grad_x CE(logits, y))). Returns x_adv.

    `seed` fixes the Poisson spikes of rate-coded models (direct-input FGSM is deterministic).
    """
    eps = _check_eps(eps)
    _check_batch(batch_size)
    _check_xy(model, x, y)
    from art.attacks.evasion.fast_gradient import FastGradientMethod

    def make(clf):
        return FastGradientMethod(clf, norm=np.inf, eps=eps, eps_step=eps, targeted=False,
                                  num_random_init=0, batch_size=batch_size, minimal=False)

    return _run(model, x, y, eps, make, f"fgsm eps={eps:.4f}", batch_size, seed, progress)


def pgd(model, x, y, eps: float = PAPER_EPS, steps: int = 7, step: float = 0.01,
        random_start: bool = True, seed: int = 0, batch_size: int = 256, *,
        progress: bool = True) -> torch.Tensor:
    """L-inf PGD (ART's PyTorch implementation): optional uniform random start in the eps-ball,
    `steps` signed-gradient steps of size `step`, each followed by projection onto the eps-ball
    and a [0, 1] clamp. Deterministic for a given seed. Returns x_adv."""
    eps = _check_eps(eps)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    step = _real(step, "step")
    if step <= 0:
        raise ValueError(f"step must be > 0, got {step}")
    _check_batch(batch_size)
    _check_xy(model, x, y)
    from art.attacks.evasion.projected_gradient_descent.projected_gradient_descent_pytorch \
        import ProjectedGradientDescentPyTorch

    def make(clf):
        return ProjectedGradientDescentPyTorch(
            clf, norm=np.inf, eps=eps, eps_step=step, max_iter=int(steps), targeted=False,
            num_random_init=1 if random_start else 0, batch_size=batch_size,
            random_eps=False, verbose=False)

    return _run(model, x, y, eps, make, f"pgd eps={eps:.4f}", batch_size, seed, progress)


def square(model, x, y, eps: float, queries: int = 1000, p_init: float = 0.3, seed: int = 0,
           batch_size: int = 256, *, progress: bool = True) -> torch.Tensor:
    """ART's score-based L-inf Square attack (Andriushchenko et al. 2020): random square patches
    of +-eps kept when they lower the margin of the model's logits; `queries` iterations, one
    restart. Needs only the model's outputs, no gradient. Deterministic for a given seed."""
    eps = _check_eps(eps)
    if isinstance(queries, bool) or not isinstance(queries, numbers.Integral) or queries < 1:
        raise ValueError(f"queries must be an integer >= 1, got {queries!r}")
    p_init = _real(p_init, "p_init")
    if not 0 < p_init <= 1:
        raise ValueError(f"p_init must be in (0, 1], got {p_init}")
    _check_batch(batch_size)
    _check_xy(model, x, y)
    from art.attacks.evasion import SquareAttack

    def make(clf):
        return SquareAttack(clf, norm=np.inf, eps=eps, max_iter=int(queries), p_init=p_init,
                            nb_restarts=1, batch_size=batch_size, verbose=False)

    # direct-input models are deterministic: unchanged images are answered from a cache
    return _run(model, x, y, eps, make, f"square eps={eps:.4f}", batch_size, seed, progress,
                cached=model.cfg.encoding == "direct")


def run_attack(name: str, model, x, y, eps: float, **kw) -> torch.Tensor:
    """fgsm or pgd by name; kw go to that function (pgd-only ones are dropped for fgsm)."""
    if name == "fgsm":
        kw = {k: v for k, v in kw.items() if k in ("batch_size", "seed", "progress")}
        return fgsm(model, x, y, eps, **kw)
    if name == "pgd":
        return pgd(model, x, y, eps, **kw)
    raise ValueError(f"unknown attack {name!r}; choose one of {', '.join(ATTACKS)}")


def sweep(model, x, y, eps_list, attacks=ATTACKS, *, batch_size: int = 256,
          progress: bool = True, **pgd_kw) -> list[dict]:
    """Accuracy under each attack at each eps: [{"attack", "eps", "acc"}, ...].

    pgd_kw (steps, step, random_start, seed) go to pgd; seed also to fgsm and the accuracy of
    rate-coded models. eps == 0 rows are the clean accuracy.
    """
    for a in attacks:
        if a not in ATTACKS:
            raise ValueError(f"unknown attack {a!r}; choose from {', '.join(ATTACKS)}")
    eps_list = [_check_eps(e) for e in eps_list]
    seed = pgd_kw.get("seed", 0)
    clean = None
    rows = []
    for a in attacks:
        for eps in eps_list:
            if eps == 0.0:
                if clean is None:
                    clean = accuracy(model, x, y, seed=seed)
                acc = clean
            else:
                x_adv = run_attack(a, model, x, y, eps, batch_size=batch_size, progress=progress,
                               **pgd_kw)
                acc = accuracy(model, x_adv, y, seed=seed)
            rows.append({"attack": a, "eps": eps, "acc": acc})
    return rows


def transfer(source_model, target_model, x, y, eps: float = PAPER_EPS, attack: str = "pgd", *,
             batch_size: int = 256, progress: bool = True, **pgd_kw) -> float:
    """Black-box transfer: craft on source_model (white-box), return target_model's accuracy.

    The paper's black-box setting crafts on a separately seeded model of the same architecture.
    """
    if tuple(source_model.cfg.in_shape) != tuple(target_model.cfg.in_shape):
        raise ValueError(f"source takes {tuple(source_model.cfg.in_shape)} images, target "
                         f"{tuple(target_model.cfg.in_shape)}")
    x_adv = run_attack(attack, source_model, x, y, eps, batch_size=batch_size,
                       progress=progress, **pgd_kw)
    return accuracy(target_model, x_adv, y, seed=pgd_kw.get("seed", 0))
