"""Leaky integrate-and-fire neurons whose float forward pass is the integer semantics.

Per timestep, on the membrane grid of LSB `lsb` (u = U * lsb with U an integer):
    U <- U - floor(U / 2^k)        leak 1 - 2^-k, floor = arithmetic shift right
    U <- U + I_t                   input current (an integer on the same grid)
    s  = U >= Theta                spike; a tie fires
    U <- U - s * Theta             soft reset by subtraction
Every step is a power-of-two scaling, a floor or an add of grid values, so fp32 computes it
exactly while |U| < 2^24. The floors pass gradients straight through; the spike passes the
surrogate gradient. State is explicit (snnTorch style): callers pass and receive membranes.
"""
from __future__ import annotations

import torch
from torch import nn

SURROGATES = ("pwl", "fast-sigmoid", "atan")


def surrogate_grad(z: torch.Tensor, name: str) -> torch.Tensor:
    """dS/dz at z = U/Vth - 1. 'pwl' is the paper's 0.3 * max(0, 1 - |z|)."""
    if name == "pwl":
        return 0.3 * torch.clamp(1.0 - z.abs(), min=0.0)
    if name == "fast-sigmoid":
        return 1.0 / (1.0 + 10.0 * z.abs()) ** 2
    if name == "atan":
        return 1.0 / (1.0 + (torch.pi * z) ** 2)
    raise ValueError(f"unknown surrogate {name!r}; choose one of {', '.join(SURROGATES)}")


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def threshold_code(v_th: torch.Tensor, lsb: float) -> torch.Tensor:
    """Integer threshold Theta >= 1 on the membrane grid (round half to even, as numpy)."""
    return torch.clamp(_RoundSTE.apply(v_th / lsb), min=1.0)


class LIF(nn.Module):
    """A layer of LIF neurons sharing one trainable threshold and a fixed shift leak."""

    def __init__(self, leak_shift: int = 3, v_th: float = 1.0, surrogate: str = "pwl"):
        super().__init__()
        if not 1 <= int(leak_shift) <= 15:
            raise ValueError(f"leak_shift must be in 1..15 (leak = 1 - 2^-k), got {leak_shift}")
        surrogate_grad(torch.zeros(1), surrogate)  # validates the name
        self.leak_shift = int(leak_shift)
        self.surrogate = surrogate
        self.v_th = nn.Parameter(torch.tensor(float(v_th)))

    def threshold(self, lsb: float | None) -> torch.Tensor:
        """The threshold the forward pass uses: on the grid when quantized, else the float."""
        vth = self.v_th.abs() + 1e-3 if lsb is None else self.v_th
        return vth if lsb is None else threshold_code(vth, lsb) * lsb

    def forward(self, currents: torch.Tensor, lsb: float | None, u: torch.Tensor | None = None):
        """currents: (T, N, ...) on the grid. Returns spikes (T, N, ...) and the final membrane."""
        th = self.threshold(lsb)
        if u is None:
            u = torch.zeros_like(currents[0])
        return _LIFSequence.apply(currents, th, u, lsb, self.leak_shift, self.surrogate)


class _LIFSequence(torch.autograd.Function):
    """The T-step LIF recurrence as one autograd node, with hand-written BPTT.

    The forward is the exact fixed-point rule above; the spike compares u >= th directly
    (never through u/th, which can round). The backward is what autograd derives through the
    straight-through floor, the surrogate spike and the soft reset (tests/test_lif.py checks
    it against autograd), without a graph of ~10 nodes per timestep, which halves training time.
    """

    @staticmethod
    def forward(ctx, currents, th, u, lsb, leak_shift, surrogate):
        step = 2.0 ** leak_shift
        spikes = torch.empty_like(currents)
        u_pre = torch.empty_like(currents)
        for t in range(currents.shape[0]):
            if lsb is None:
                u = u - u / step
            else:
                u = u - torch.floor(u / (lsb * step)) * lsb
            u = u + currents[t]
            s = (u >= th).to(u.dtype)
            u_pre[t] = u
            spikes[t] = s
            u = u - s * th
        ctx.save_for_backward(u_pre, spikes, th)
        ctx.leak = 1.0 - 1.0 / step
        ctx.surrogate = surrogate
        return spikes, u

    @staticmethod
    def backward(ctx, g_spikes, g_u):
        u_pre, spikes, th = ctx.saved_tensors
        g_post = torch.zeros_like(u_pre[0]) if g_u is None else g_u
        g_cur = torch.empty_like(u_pre)
        g_th = torch.zeros((), dtype=u_pre.dtype, device=u_pre.device)
        for t in range(u_pre.shape[0] - 1, -1, -1):
            sg = surrogate_grad(u_pre[t] / th - 1.0, ctx.surrogate)
            g_s = g_post * (-th)
            if g_spikes is not None:
                g_s = g_s + g_spikes[t]
            g_pre = g_post + g_s * sg / th
            g_th = g_th - (g_post * spikes[t]).sum() - (g_s * sg * u_pre[t]).sum() / (th * th)
            g_cur[t] = g_pre
            g_post = g_pre * ctx.leak
        return g_cur, g_th.reshape(th.shape), g_post, None, None, None
