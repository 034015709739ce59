"""What every attack shares: argument checks, the model's input encoding, predictions with the
hardware's argmax, the attack context (eval mode, frozen parameters, seeded and restored RNGs)
and the ART runner the ART-based attacks generate through."""
from __future__ import annotations

import contextlib
import hashlib
import math
import numbers

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm


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


def generator(model, seed) -> torch.Generator:
    return torch.Generator(device=device(model)).manual_seed(int(seed))


def device(model) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def encode(model, x, gen):
    """What the model consumes for images x: x itself (direct) or Poisson spikes (rate)."""
    if model.cfg.encoding == "rate":
        return poisson(x, int(model.cfg.timesteps), gen)
    return x


class LogitsOf(nn.Module):
    """A plain classifier view of a QuantSNN for ART: images in, logits (readout / T) out."""

    def __init__(self, model, generator: torch.Generator | None = None):
        super().__init__()
        self.snn = model
        self.generator = generator

    def forward(self, x):
        return self.snn.logits(encode(self.snn, x, self.generator))


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
    check_images(model, x)
    check_batch(batch_size)
    gen = generator(model, seed) if model.cfg.encoding == "rate" else None
    dev = device(model)
    out = []
    with _eval(model), torch.no_grad():
        for i in tqdm(range(0, len(x), batch_size), desc="predict", unit="batch",
                      disable=not progress, leave=False):
            xb = x[i:i + batch_size].to(dev, torch.float32)
            acc = model(encode(model, xb, gen))[0]
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
def real(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {v!r}")


def check_eps(eps):
    eps = real(eps, "eps")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must be in [0, 1] (pixel units; the paper uses 8/255), got {eps}")
    return eps


def check_batch(batch_size):
    positive_int(batch_size, "batch_size")


def check_images(model, x):
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError("x must be a tensor of images (N, C, H, W) in [0, 1]; attacks and "
                         "predictions take images, rate-coded models encode them internally")
    if tuple(x.shape[1:]) != tuple(model.cfg.in_shape):
        raise ValueError(f"x images are {tuple(x.shape[1:])}, the model takes "
                         f"{tuple(model.cfg.in_shape)}")


def check_xy(model, x, y):
    check_images(model, x)
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or len(y) != len(x):
        raise ValueError(f"y must be a 1-D tensor of {len(x)} labels")


# -- running an attack ------------------------------------------------------------------------
@contextlib.contextmanager
def attack_context(model, seed):
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


def _classifier(model, gen, cached: bool = False):
    from art.estimators.classification.pytorch import PyTorchClassifier

    dev = device(model)
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
                if not keys:
                    return np.zeros((0, self.nb_classes), np.float32)
                return np.stack([self.memo[k] for k in keys])

        cls = Cached
    return cls(
        model=LogitsOf(model, gen), loss=nn.CrossEntropyLoss(),
        input_shape=tuple(model.cfg.in_shape), nb_classes=int(model.cfg.n_classes),
        clip_values=(0.0, 1.0), device_type="gpu" if dev.type == "cuda" else "cpu")


def run_art(model, x, y, make_attack, desc, batch_size, seed, progress, cached=False):
    """x_adv of an ART evasion attack `make_attack(classifier)`, generated in our own batches
    (tqdm), one ART generate per batch; the registry projects the result onto the eps-ball."""
    x_np = x.detach().cpu().numpy().astype(np.float32)
    y_np = y.detach().cpu().numpy().astype(np.int64)
    out = np.empty_like(x_np)
    with attack_context(model, seed):
        attack = make_attack(_classifier(model, generator(model, seed), cached))
        for i in tqdm(range(0, len(x_np), batch_size), desc=desc, unit="batch",
                      disable=not progress, leave=False):
            out[i:i + batch_size] = attack.generate(x_np[i:i + batch_size], y_np[i:i + batch_size])
    return torch.from_numpy(out)
