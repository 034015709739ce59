"""Leaky integrate-and-fire neurons whose float forward pass is the integer semantics.

Per timestep, on the membrane grid of LSB `lsb` (u = U * lsb with U an integer):
    U <- U - floor(U / 2^k)        leak 1 - 2^-k, floor = arithmetic shift right
    U <- U + I_t                   input current (an integer on the same grid)
    s  = U >= Theta                spike; a tie fires
    U <- U - s * Theta             soft reset by subtraction
Every step is a power-of-two scaling, a floor or an add of grid values, so fp32 computes it
exactly while |U| < 2^24. The floors pass gradients straight through; the spike passes the
surrogate gradient. State is explicit (snnTorch style): callers pass and receive membranes.

Two backends compute the same values (tests/test_fast_lif.py): `_LIFSequence`, the reference in
plain torch ops (any device), and `_FusedLIF`, a C++ kernel (quant/fused_lif.py) that runs the T
steps of a tile of neurons in registers and OR-pools on the fly, for CPU float32. 'auto' (the
default) takes the kernel where it compiles; HIRE_SNN_LIF=torch or set_backend("torch") forces
the reference.
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from quant import fused_lif

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

    def forward(self, currents: torch.Tensor, lsb: float | None, u: torch.Tensor | None = None,
                timesteps: int | None = None, pool: int = 1, full: bool = False,
                keep_state: bool = True):
        """Run the neurons over T timesteps; returns (spikes, final membrane[, unpooled spikes]).

        currents: (T, N, ...) on the grid, or with `timesteps=T` one frame (N, ...) that drives
        every timestep (direct input: the first layer's current is computed once per image).
        pool > 1: the spikes come out OR-pooled (max_pool2d with kernel and stride `pool` over
        the last two dims), as a SpikePool after this layer would give; full=True also returns
        the unpooled spikes (T, N, ...). keep_state=False: the final membrane is not kept (None),
        for callers that do not carry it on. The values are the same in every backend.
        """
        th = self.threshold(lsb)
        direct = timesteps is not None
        T = int(timesteps) if direct else currents.shape[0]
        frame = currents.shape if direct else currents.shape[1:]
        fused = _fused_module(currents, pool)
        if fused is not None:  # u None: the kernel starts from zero membranes
            u = currents.new_empty(0) if u is None else u
            spikes, uT, s_full = _FusedLIF.apply(currents, th, u, T, direct, lsb, self.leak_shift,
                                                 self.surrogate, pool, full, keep_state, fused)
            uT = uT if keep_state else None
        else:
            if u is None:
                u = currents.new_zeros(frame)
            cur = currents.unsqueeze(0).expand(T, *frame) if direct else currents
            s_full, uT = _LIFSequence.apply(cur, th, u, lsb, self.leak_shift, self.surrogate)
            spikes = s_full
            if pool > 1:
                p = F.max_pool2d(s_full.flatten(0, 1), pool)
                spikes = p.view(T, *frame[:-2], *p.shape[-2:])
            uT = uT if keep_state else None
        return (spikes, uT, s_full) if full else (spikes, uT)


# -- backends ------------------------------------------------------------------------------------
BACKENDS = ("auto", "fused", "torch")
_backend = {"name": os.environ.get("HIRE_SNN_LIF", "auto").lower() or "auto"}
if _backend["name"] not in BACKENDS:
    import warnings
    warnings.warn(f"HIRE_SNN_LIF={_backend['name']!r} is not one of {', '.join(BACKENDS)}; using auto")
    _backend["name"] = "auto"


def set_backend(name: str) -> str:
    """'fused' (the C++ kernel of quant/fused_lif.py), 'torch' (pure-torch _LIFSequence) or 'auto'
    (fused on CPU float32 where it compiles, torch elsewhere). Returns the previous setting."""
    if name not in BACKENDS:
        raise ValueError(f"LIF backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    prev, _backend["name"] = _backend["name"], name
    return prev


def backend() -> str:
    return _backend["name"]


def fused_available() -> bool:
    return fused_lif.load() is not None


def fused_active() -> bool:
    """Whether CPU float32 layers run the fused kernel (backend 'auto' or 'fused', and it loads)."""
    return _backend["name"] != "torch" and fused_available()


def _fused_module(currents, pool):
    name = _backend["name"]
    if name == "torch" or currents.device.type != "cpu" or currents.dtype != torch.float32:
        return None
    if pool > 1 and currents.dim() < 3:
        return None
    mod = fused_lif.load()
    if mod is None and name == "fused":
        raise RuntimeError(f"the fused LIF kernel is unavailable: {fused_lif.error()}")
    return mod


class _FusedLIF(torch.autograd.Function):
    """The LIF sequence and its OR pooling in one C++ pass (quant/fused_lif.py); the same values
    and the same gradient formula as _LIFSequence + F.max_pool2d. Saves only its inputs: the
    backward recomputes the membranes. Works on NCHW and channels-last (NHWC) conv frames alike
    and returns its tensors in the layout it was given."""

    @staticmethod
    def forward(ctx, currents, th, u, T, direct, lsb, leak_shift, surrogate, pool, full, keep, mod):
        frame = tuple(currents.shape if direct else currents.shape[1:])
        geo = _Geometry(currents, frame, direct, T, pool)
        cur = geo.to_buffer(currents if direct else currents.flatten(0, 1))
        u_buf = geo.to_buffer(u) if u.numel() else u
        thv = float(th.detach())
        lsb_v = -1.0 if lsb is None else float(lsb)
        out, uT, s_full = mod.lif_forward(cur, u_buf, T, direct, *geo.dims, geo.nhwc, thv, lsb_v,
                                          leak_shift, pool, full, keep)
        ctx.save_for_backward(cur, u_buf)
        # an unused output (the final membrane, which HIRE detaches between periods) gets no
        # gradient instead of a tensor of zeros that would be copied into the kernel's layout
        ctx.set_materialize_grads(False)
        ctx.geo = geo
        ctx.args = (T, direct, thv, lsb_v, leak_shift, pool, fused_lif.SURROGATE_KIND[surrogate], mod)
        s_full = geo.frames(s_full, T) if full else s_full
        uT = geo.frames(uT, None) if keep else uT
        ctx.mark_non_differentiable(*((s_full,) if keep else (s_full, uT)))
        return geo.frames(out, T, pooled=True), uT, s_full

    @staticmethod
    def backward(ctx, g_out, g_u, _g_full):
        cur, u_buf = ctx.saved_tensors
        geo = ctx.geo
        T, direct, thv, lsb, leak_shift, pool, kind, mod = ctx.args
        empty = cur.new_empty(0)
        g_out = empty if g_out is None or g_out.numel() == 0 else geo.to_buffer(g_out.flatten(0, 1), pooled=True)
        g_u = empty if g_u is None or g_u.numel() == 0 else geo.to_buffer(g_u)
        want_u0 = ctx.needs_input_grad[2] and u_buf.numel() > 0
        g_cur, g_u0, g_th = mod.lif_backward(cur, u_buf, T, direct, *geo.dims, geo.nhwc, thv, lsb,
                                             leak_shift, pool, kind, g_out, g_u, want_u0)
        g_cur = geo.frames(g_cur, None if direct else T)
        g_u0 = geo.frames(g_u0, None) if want_u0 else None
        return g_cur, g_th, g_u0, None, None, None, None, None, None, None, None, None


class _Geometry:
    """How a layer's frames lie in memory for the kernel: conv frames (N, C, H, W) as NCHW or
    channels-last, anything else as one flat row; and the views back to torch's shapes."""

    def __init__(self, currents, frame, direct, T, pool):
        self.frame = frame
        if len(frame) == 4:
            n, c, h, w = frame
            f4 = currents if direct else currents.flatten(0, 1)
            self.nhwc = (not f4.is_contiguous()) and f4.is_contiguous(memory_format=torch.channels_last)
            self.dims = (n, c, h, w)
            self.pooled_hw = (h // pool, w // pool) if pool > 1 else (h, w)
        else:
            if pool > 1:
                raise ValueError("OR pooling needs conv frames (N, C, H, W)")
            self.nhwc = False
            self.dims = (1, 1, 1, _numel(frame))
            self.pooled_hw = None

    def to_buffer(self, x, pooled=False):
        """x: frames (F, ...) of this layer (pooled: the pooled frames) -> a contiguous buffer."""
        if self.nhwc:
            return x.permute(0, 2, 3, 1).contiguous()
        return x.contiguous()

    def frames(self, buf, T, pooled=False):
        """A kernel buffer -> (T, *frame) or, with T None, one frame (pooled: the pooled frame)."""
        n, c, h, w = self.dims
        if pooled and self.pooled_hw is not None:
            h, w = self.pooled_hw
        lead = 1 if T is None else T
        if self.nhwc:
            x = buf.view(lead * n, h, w, c).permute(0, 3, 1, 2)
            return x if T is None else x.view(T, n, c, h, w)
        frame = (n, c, h, w) if len(self.frame) == 4 else self.frame
        return buf.view(frame) if T is None else buf.view(T, *frame)


def _numel(shape):
    k = 1
    for d in shape:
        k *= int(d)
    return k


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
