"""The quantized SNN: conv/dense LIF layers, OR pooling of spikes and a non-spiking readout.

Layers run one after another over all T timesteps (a layer's input for every timestep is
known once the layer before has run), which is both faster in PyTorch than a timestep loop
around the whole network and the same schedule as the hardware's layer pipeline.
With direct input, the first layer's current is computed once per image and reused T times.
An OR pooling right after a spiking layer runs inside that layer's LIF pass (quant/lif.py); on
CPU with the fused kernel the conv layers run channels-last. Neither changes a value: every
product and sum on the grid is exact in float32, in any order.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from core.layer_tokens import kind_of, per_spiking_layer
from quant import quantizers as Q
from quant.lif import LIF

ARCHS = {
    # Sized for a small FPGA: ~113k first-layer MACs once per image, ~0.92M synapses/timestep.
    "fmnist-conv": ["c16", "p2", "c32", "p2", "r"],
    # The same with a wider conv2 (~1.38M synapses/timestep): the default for Fashion-MNIST,
    # since the extra capacity buys clean accuracy without losing robustness (docs/TRAINING.md).
    "fmnist-conv48": ["c16", "p2", "c48", "p2", "r"],
    # The paper's VGG variants (max pooling on spikes, so spikes stay binary; no bias, no BN).
    "vgg5": ["c64", "p2", "c128", "c128", "p2", "f1024", "r"],
    "vgg11": ["c64", "p2", "c128", "p2", "c256", "c256", "p2", "c512", "c512", "p2",
              "c512", "c512", "f4096", "f4096", "r"],
}
ENCODINGS = ("direct", "rate")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; stored in checkpoints."""

    arch: str = "fmnist-conv"
    in_shape: tuple = (1, 28, 28)
    n_classes: int = 10
    quant: str = "4bit"
    timesteps: int = 8
    leak_shift: int | list = 3  # one k for every spiking layer, or one per spiking layer
    v_th: float = 1.0
    surrogate: str = "pwl"
    encoding: str = "direct"
    layers: list = field(default_factory=list)

    def __post_init__(self):
        self.in_shape = tuple(int(s) for s in self.in_shape)
        if not self.layers:
            if self.arch not in ARCHS:
                raise ValueError(f"unknown --arch {self.arch!r}; choose one of {', '.join(ARCHS)}")
            self.layers = list(ARCHS[self.arch])
        Q.weight_bits(self.quant)
        if self.encoding not in ENCODINGS:
            raise ValueError(f"--encoding must be one of {', '.join(ENCODINGS)}")
        if not 1 <= int(self.timesteps) <= 1024:
            raise ValueError(f"--timesteps must be in 1..1024, got {self.timesteps}")
        if isinstance(self.leak_shift, (list, tuple)):
            self.leak_shift = per_spiking_layer(self.leak_shift, self.layers, "--leak-shift")
        else:
            self.leak_shift = int(self.leak_shift)

    def layer_leak_shifts(self) -> list[int]:
        """The leak shift k of each spiking layer, in order."""
        return per_spiking_layer(self.leak_shift, self.layers)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["in_shape"] = list(self.in_shape)
        return d


class SpikingConv(nn.Module):
    kind = "conv"

    def __init__(self, cin, cout, bits, lif_kw, kernel=3, padding=1):
        super().__init__()
        self.kernel, self.padding = kernel, padding
        self.conv = Q.conv2d(cin, cout, kernel, padding, bits)
        self.lif = LIF(**lif_kw)

    def out_shape(self, s):
        c, h, w = s
        k, p = self.kernel, self.padding
        return (self.conv.out_channels, h + 2 * p - k + 1, w + 2 * p - k + 1)

    def current(self, x, weight, first=False, channels_last=False):
        if channels_last:  # x and weight channels-last: oneDNN then gives a channels-last output
            x = _as_channels_last(x)
            weight = _as_channels_last(weight)
        out = _FirstConv.apply(x, weight, self.padding) if first else F.conv2d(x, weight, padding=self.padding)
        return out.contiguous(memory_format=torch.channels_last) if channels_last else out


class SpikingDense(nn.Module):
    kind = "dense"

    def __init__(self, fin, fout, bits, lif_kw):
        super().__init__()
        self.fc = Q.linear(fin, fout, bits)
        self.lif = LIF(**lif_kw)

    def out_shape(self, s):
        return (self.fc.out_features,)

    def current(self, x, weight, first=False, channels_last=False):
        return _flat_linear(x, weight)


class Readout(nn.Module):
    """Non-spiking output layer: its current summed over T is the logit (accumulator)."""

    kind = "readout"

    def __init__(self, fin, n_classes, bits):
        super().__init__()
        self.fc = Q.linear(fin, n_classes, bits)

    def out_shape(self, s):
        return (self.fc.out_features,)

    def current(self, x, weight, first=False, channels_last=False):
        return _flat_linear(x, weight)


class SpikePool(nn.Module):
    """Max pooling of binary spikes, i.e. an OR over each window: the output stays binary."""

    kind = "pool"

    def __init__(self, size):
        super().__init__()
        self.size = size

    def out_shape(self, s):
        c, h, w = s
        return (c, h // self.size, w // self.size)


def _as_channels_last(t):
    """t in channels-last memory order, with channels-last strides even where one channel makes
    both layouts the same memory (oneDNN picks its output layout from the strides)."""
    t = t.contiguous(memory_format=torch.channels_last)
    if t.shape[1] == 1 and t.stride(1) != 1:
        n, _, h, w = t.shape
        t = t.as_strided(t.shape, (h * w, 1, w, 1))
    return t


def _flat_linear(x, weight):
    """F.linear(x.flatten(1), weight); a channels-last x is read in its own order (the weight's
    columns are permuted to match) instead of being copied into C, H, W order."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        n, c, h, w = x.shape
        wt = weight.view(weight.shape[0], c, h, w).permute(0, 2, 3, 1).reshape(weight.shape[0], -1)
        return F.linear(x.permute(0, 2, 3, 1).reshape(n, -1), wt)
    return F.linear(x.flatten(1), weight)


class _FirstConv(torch.autograd.Function):
    """F.conv2d on the image, with a cheaper input gradient (HIRE's noise and the attacks need
    it; nothing else does). oneDNN's backward-data primitive for a 1-channel input took 17 ms per
    batch of 128; as a convolution with the flipped kernels 2.1 ms; on CPU as one matrix
    product of the output gradient with the taps, (Cin*K*K, C) x (C, N*H*W), and K*K shifted
    adds of its rows, 0.6 ms (docs/TRAINING.md, "Speed")."""

    @staticmethod
    def forward(ctx, x, weight, padding):
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        return F.conv2d(x, weight, padding=padding)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        p, k = ctx.padding, weight.shape[-1]
        g_x = g_w = None
        if ctx.needs_input_grad[1]:
            g_w = torch.ops.aten.convolution_backward(
                g, x, weight, None, [1, 1], [p, p], [1, 1], False, [0, 0], 1,
                [False, True, False])[1]
        if ctx.needs_input_grad[0]:
            g_x = _input_grad_taps(g, weight, p) if g.device.type == "cpu" else None
            if g_x is None:
                wt = weight.flip(2, 3).transpose(0, 1)
                if g.is_contiguous(memory_format=torch.channels_last) and not g.is_contiguous():
                    wt = _as_channels_last(wt)
                g_x = F.conv2d(g, wt, padding=k - 1 - p)
        return g_x, g_w, None


def _input_grad_taps(g, weight, p):
    """The input gradient of a stride-1 convolution with padding p: every output pixel's
    gradient times each tap, (N, C, Ho, Wo) x (C, Cin, K, K) -> per tap (Cin, N, Ho, Wo), then
    each tap's plane added at its offset into the padded input and the padding cut off. None
    where the gradient is in neither NCHW nor channels-last order."""
    n, c, ho, wo = g.shape
    cout, cin, k, _ = weight.shape
    w2 = weight.reshape(cout, cin * k * k).t()  # (Cin*K*K, C)
    if g.is_contiguous(memory_format=torch.channels_last):
        cols = torch.mm(w2, g.permute(0, 2, 3, 1).reshape(-1, c).t())  # (Cin*K*K, N*Ho*Wo)
        cols = cols.view(cin, k, k, n, ho, wo).permute(3, 0, 1, 2, 4, 5)
    elif g.is_contiguous():
        cols = torch.matmul(w2, g.reshape(n, c, ho * wo)).view(n, cin, k, k, ho, wo)
    else:
        return None
    out = g.new_zeros((n, cin, ho + k - 1, wo + k - 1))
    for i in range(k):
        for j in range(k):
            out[:, :, i:i + ho, j:j + wo] += cols[:, :, i, j]
    h, w = ho + k - 1 - 2 * p, wo + k - 1 - 2 * p
    return out[:, :, p:p + h, p:p + w]


def _weight_layer(block):
    return getattr(block, "conv", None) or getattr(block, "fc")


class QuantSNN(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.bits = Q.weight_bits(cfg.quant)
        self.input_quant = Q.input_quant(self.bits is not None)
        leaks = iter(cfg.layer_leak_shifts())

        def lif_kw():  # the next spiking layer's neuron settings
            return dict(leak_shift=next(leaks), v_th=cfg.v_th, surrogate=cfg.surrogate)
        blocks, shapes, s = [], [], tuple(cfg.in_shape)
        for i, tok in enumerate(cfg.layers):
            kind, arg = kind_of(tok), tok[1:]
            if kind == "conv":
                if len(s) != 3:
                    raise ValueError(f"layer {i} ({tok}): a conv cannot follow a dense layer")
                b = SpikingConv(s[0], int(arg), self.bits, lif_kw())
            elif kind == "pool":
                if not blocks or all(x.kind == "pool" for x in blocks):
                    raise ValueError(f"layer {i} ({tok}): pooling works on spikes, so it must "
                                     "follow a spiking layer (the input is 8-bit codes)")
                b = SpikePool(int(arg))
            elif kind == "dense":
                b = SpikingDense(_numel(s), int(arg), self.bits, lif_kw())
            else:  # the readout
                if i != len(cfg.layers) - 1:
                    raise ValueError("the readout 'r' must be the last layer")
                b = Readout(_numel(s), cfg.n_classes, self.bits)
            shapes.append((s, b.out_shape(s)))
            s = b.out_shape(s)
            blocks.append(b)
        if not blocks or blocks[-1].kind != "readout":
            raise ValueError("an architecture must end with the readout 'r'")
        self.blocks = nn.ModuleList(blocks)
        self.shapes = shapes

    # -- quantization facts -------------------------------------------------------------
    def quant_weight(self, block):
        """(weight value tensor, scale or None): Brevitas' quantized weight, float if unquantized."""
        layer = _weight_layer(block)
        if self.bits is None:
            return layer.weight, None
        qw = layer.quant_weight()
        return qw.value, float(qw.scale.detach())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Float image in [0, 1] -> what the first layer sees (codes * 2^-8 when quantized)."""
        return x if self.input_quant is None else self.input_quant(x)

    def input_codes(self, x: torch.Tensor) -> torch.Tensor:
        """The 8-bit codes the hardware receives for float images in [0, 1]."""
        if self.input_quant is None:
            raise ValueError("a float (--quant float) model has no input codes")
        with torch.no_grad():
            return torch.round(self.encode(x) * 2 ** Q.INPUT_FRAC_BITS).to(torch.uint8)

    # -- forward --------------------------------------------------------------------------
    def forward(self, x, state=None, timesteps=None, record=False, keep_state=True):
        """Run `timesteps` timesteps (default cfg.timesteps) from membrane `state`.

        x: images (N, C, H, W) in [0, 1] for direct input, or input spikes (T, N, C, H, W)
        for rate coding. Returns (acc, new_state, record) where acc (N, classes) is the readout
        summed over the timesteps (value units), new_state the membranes (one per LIF layer;
        None each with keep_state=False, which spares writing them) and record, when asked, a
        list of (spikes (T, N, ...), lsb) per weight layer.
        """
        T = int(timesteps or self.cfg.timesteps)
        rate = x.dim() == 5
        if rate:
            T = x.shape[0]
        state = list(state) if state is not None else []
        new_state, rec = [], []
        q = self.bits is not None
        in_lsb = 2.0 ** -Q.INPUT_FRAC_BITS if q else None
        h = self.encode(x.flatten(0, 1) if rate else x)  # (N, ...) or (T*N, ...)
        cl = h.dim() == 4 and channels_last_ok(h)
        direct = not rate  # h holds one frame per image, shared by all timesteps
        first = True
        n = x.shape[1] if rate else x.shape[0]
        li = 0
        blocks = list(self.blocks)
        i = 0
        while i < len(blocks):
            b = blocks[i]
            i += 1
            if b.kind == "pool":
                h = F.max_pool2d(h, b.size)
                continue
            w, scale = self.quant_weight(b)
            lsb = in_lsb * scale if q else None
            cur = b.current(h, w, first=first and direct, channels_last=cl)
            first = False
            if b.kind == "readout":
                cur = cur.unsqueeze(0).expand(T, *cur.shape) if direct else cur.view(T, n, *cur.shape[1:])
                acc = cur.sum(0)
                if record:
                    rec.append((acc.detach(), lsb))
                return acc, new_state, rec
            if not direct:
                cur = cur.view(T, n, *cur.shape[1:])
            # the OR pooling right after a spiking layer runs inside the LIF pass
            pool = blocks[i].size if i < len(blocks) and blocks[i].kind == "pool" else 1
            i += pool > 1
            u0 = state[li] if li < len(state) else None
            out = b.lif(cur, lsb, u0, timesteps=T if direct else None, pool=pool, full=record,
                        keep_state=keep_state)
            new_state.append(out[1])
            if record:
                rec.append((out[2].detach(), lsb))
            li += 1
            h = out[0].flatten(0, 1)
            direct = False
            in_lsb = 1.0 if q else None
        raise AssertionError("unreachable: architectures end with a readout")

    def logits(self, x, timesteps=None):
        """Readout accumulator averaged over T: the training and attack objective."""
        acc, _, _ = self(x, timesteps=timesteps)
        return acc / float(timesteps or (x.shape[0] if x.dim() == 5 else self.cfg.timesteps))


def channels_last_ok(x: torch.Tensor) -> bool:
    """Run conv layers channels-last: on CPU with the fused LIF kernel, which pools NHWC frames
    natively; oneDNN's NHWC convolutions and the kernel's NHWC tiles measured 10-25% faster per
    layer than NCHW (docs/TRAINING.md). HIRE_SNN_CHANNELS_LAST=0 keeps NCHW."""
    from quant import lif
    if os.environ.get("HIRE_SNN_CHANNELS_LAST", "1") == "0":
        return False
    return x.device.type == "cpu" and x.dtype == torch.float32 and lif.fused_active()


def _numel(s):
    n = 1
    for d in s:
        n *= int(d)
    return n
