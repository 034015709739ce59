"""Adversarial-training baselines, the cost-robustness front HIRE is measured on.

fgsm-at   "fast" adversarial training (Wong, Rice & Kolter, ICLR 2020): per minibatch a uniform
          random start in the eps-ball, one signed-gradient step of 1.25 eps, then one update on
          that image: 2 forward-backward passes per update.
pgd-at    PGD adversarial training (Madry et al., ICLR 2018): a random start and 7 steps of
          2.5 eps / 7, then the update: 8 passes per update.

Both craft through the same surrogate BPTT the model trains with (full T-step runs, the model
as it trains), on the same network, quantization, epochs and schedule as HIRE and standard
training; only the minibatch's input differs. `--at-steps` / `--at-step` change the search,
`--train-eps` its budget (the same flag HIRE's noise uses). HIRE's cost per minibatch is one
T-step pass forward and back (split in periods), as standard training's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# method -> (steps, step as a multiple of eps), the papers' settings
AT_DEFAULTS = {"fgsm-at": (1, 1.25), "pgd-at": (7, 2.5 / 7)}


def at_settings(method: str, steps: int | None, step: float | None) -> tuple[int, float]:
    """(steps, step / eps) of an adversarial-training method, the flags over the defaults."""
    d_steps, d_step = AT_DEFAULTS[method]
    return (d_steps if steps is None else int(steps)), (d_step if step is None else float(step))


def craft(model, x, y, T, eps, steps, step, generator=None, rate_fn=None):
    """The training image: x + uniform noise in the eps-ball, then `steps` signed-gradient
    steps of `step` (absolute) on the cross-entropy, each projected onto the ball and [0, 1].
    Only the input's gradient is taken: the parameters' .grad stay as they are."""
    u = torch.rand(x.shape, generator=generator, device="cpu").to(x.device)
    x_adv = torch.clamp(x + (2 * u - 1) * eps, 0.0, 1.0)
    for _ in range(steps):
        x_adv = x_adv.detach().requires_grad_(True)
        inp = rate_fn(x_adv, T) if rate_fn is not None else x_adv
        acc, _, _ = model(inp, timesteps=T, keep_state=False)
        g, = torch.autograd.grad(F.cross_entropy(acc / T, y), x_adv)
        with torch.no_grad():
            x_adv = torch.clamp(x + torch.clamp(x_adv + step * g.sign() - x, -eps, eps), 0, 1)
    return x_adv.detach()


def adversarial_step(model, net, opt, x, y, T, eps, steps, step, generator=None, rate_fn=None):
    """One minibatch of adversarial training: craft on `model` (the bare module: no
    DistributedDataParallel hooks for an input-only gradient), update `net` on the crafted
    image. Returns the loss."""
    x_adv = craft(model, x, y, T, eps, steps, step, generator, rate_fn) if eps > 0 else x
    inp = rate_fn(x_adv, T) if rate_fn is not None else x_adv
    acc, _, _ = net(inp, timesteps=T, keep_state=False)
    loss = F.cross_entropy(acc / T, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())
