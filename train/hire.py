"""Training schedules: standard BPTT and HIRE (crafted input noise from the timesteps).

HIRE splits the T timesteps of each minibatch into N periods. Period 1 sees the clean image;
after each period's backward the weights update, and the input gradient of that same backward
crafts the next period's input: x_{p+1} = clip(x + clip(x_p + eps * sign(g_p) - x, -eps, eps), 0, 1).
Choices the paper leaves open (docs/TRAINING.md): membranes carry across periods (detached,
so the network sees one continuous T-step run, as at inference); a period's loss is the
cross-entropy of its own readout (accumulator over its timesteps / its length); the noise
accumulates across periods inside the eps ball. Compute per minibatch equals standard T-step
BPTT: T timestep-frames forward and T backward; only the number of optimizer steps differs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

METHODS = ("standard", "hire", "hire-replay", "fgsm-at", "pgd-at")  # the last two: train/adversarial.py


def split_periods(T: int, n: int) -> list[int]:
    """T timesteps into n periods as equal as possible (earlier periods one longer)."""
    if not 1 <= n <= T:
        raise ValueError(f"--periods must be in 1..T ({T}), got {n}")
    return [T // n + (1 if i < T % n else 0) for i in range(n)]


def _inputs(model, x, T, rate_fn):
    return rate_fn(x, T) if model.cfg.encoding == "rate" else x


def standard_step(model, opt, x, y, T, rate_fn=None):
    """One minibatch of plain BPTT over T timesteps, one update. Returns the loss."""
    acc, _, _ = model(_inputs(model, x, T, rate_fn), timesteps=T, keep_state=False)
    loss = F.cross_entropy(acc / T, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


INITS = ("clean", "uniform", "persistent")


class NoiseBank:
    """Each training image's crafted noise, carried from one epoch to the next (the "persistent"
    init): period 1 starts from the noise this image ended with last epoch, so over E epochs the
    single signed step HIRE affords per period accumulates into an E-step attack, at no extra
    pass (as ATTA, Zheng et al., CVPR 2020, does for adversarial training). float16: the noise
    lives in [-eps, eps] and the input is quantized to 8 bits anyway."""

    def __init__(self, n: int, shape):
        self.delta = torch.zeros((n, *shape), dtype=torch.float16)

    def start(self, x, idx, eps):
        """The image period 1 sees: x plus the stored noise, projected into today's eps-ball."""
        d = self.delta[idx].to(device=x.device, dtype=x.dtype)
        return torch.clamp(x + torch.clamp(d, -eps, eps), 0.0, 1.0)

    def keep(self, idx, x, x_p):
        self.delta[idx] = (x_p - x).detach().to(device="cpu", dtype=torch.float16)


def hire_step(model, opt, x, y, T, periods, eps, rate_fn=None, step=None, init="clean",
              generator=None, bank=None, idx=None, consistency=0.0, replay=False):
    """One minibatch of HIRE: N periods, N updates, noise crafted from each period's backward.

    replay: every period a full T-step run from fresh membranes instead of T/N timesteps of one
    run (method "hire-replay": N passes per minibatch, as free adversarial training, Shafahi et
    al. 2019, replays a minibatch; with N=2 the clean image and the FGSM image its own backward
    crafted, Goodfellow et al. 2015's clean + adversarial mix, at fast AT's 2 passes).

    eps: the noise budget (L-inf ball around x); step: the signed-gradient step per period
    (default eps: with N=2 the second period sees x + eps * sign(g), an FGSM image).
    init: what period 1 sees, the clean image (the paper) or "uniform": x plus uniform noise in
    the eps-ball (so that every timestep trains on a perturbed image, as attacks perturb them all,
    and the next period's step starts from a random point, as in "fast" adversarial training),
    or "persistent": the noise image `idx` ended with last epoch, from `bank` (a NoiseBank), which
    gets the last crafted noise back.
    consistency > 0: the periods after the first train, instead of the cross-entropy on the
    noisy image, consistency * KL(p_first || p_period) between the first period's prediction
    (fixed) and theirs, as TRADES (Zhang et al., ICML 2019) trains robustness apart from accuracy.
    """
    step = eps if step is None else step
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if init == "persistent" and (bank is None or idx is None):
        raise ValueError("init 'persistent' needs the NoiseBank and the images' indices")
    x_p = x
    if init == "persistent":
        x_p = bank.start(x, idx, eps)
    elif init == "uniform" and eps > 0:
        u = torch.rand(x.shape, generator=generator, device="cpu").to(x.device)
        x_p = torch.clamp(x + (2 * u - 1) * eps, 0.0, 1.0)
    state, losses, first = None, [], None
    lengths = [T] * periods if replay else split_periods(T, periods)
    for i, tp in enumerate(lengths):
        last = i + 1 == len(lengths)
        x_in = x_p.detach().requires_grad_(not last)  # the last period crafts no noise
        acc, state, _ = model(_inputs(model, x_in, tp, rate_fn), state=state, timesteps=tp,
                              keep_state=not (last or replay))
        if consistency > 0 and first is not None:
            loss = consistency * F.kl_div(F.log_softmax(acc / tp, 1), first, reduction="batchmean",
                                          log_target=True)
        else:
            loss = F.cross_entropy(acc / tp, y)
            if consistency > 0 and first is None:
                first = F.log_softmax(acc.detach() / tp, 1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        state = None if last or replay else [u.detach() for u in state]
        if not last:
            with torch.no_grad():
                moved = x_in.detach() + step * x_in.grad.sign()
                x_p = torch.clamp(x + torch.clamp(moved - x, -eps, eps), 0.0, 1.0)
    if init == "persistent":
        bank.keep(idx, x, x_p)
    return sum(losses) / len(losses)


def scheduled_eps(eps: float, progress: float, ramp: float) -> float:
    """The noise budget at `progress` (0..1) of training: a linear ramp from 0 to eps over the
    first `ramp` of the batches (ramp 0: eps from the start)."""
    if ramp <= 0 or progress >= ramp:
        return eps
    return eps * progress / ramp
