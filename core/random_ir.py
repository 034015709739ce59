"""Seeded random IRs, torch-free: the networks backend tests run without training anything.

`random_network("c16 p2 c32 p2 r")` builds an IR from the same layer tokens as train/run.py
(cN: 3x3 conv with N channels and padding 1, pN: OR pooling, fN: dense LIF layer, r: readout),
with uniform integer weights in the narrow range and thresholds scaled to each layer's typical
current, so `v_th` picks the regime (about 1: moderate spiking, 0.05: dense, 3: sparse). Widths
come from the same interval analysis as an exported model. `extreme` rewrites the weights into
the patterns that reach the widest registers.
"""
from __future__ import annotations

import math

import numpy as np

from core import ir as IR
from core.layer_tokens import kind_of, layer_names, per_spiking_layer
from core.network import Network

DEFAULT_LAYERS = ("c16", "p2", "c32", "p2", "r")


def _tokens(layers) -> list[str]:
    return layers.split() if isinstance(layers, str) else list(layers)


def random_ir(layers=DEFAULT_LAYERS, in_shape=(1, 28, 28), classes=10, timesteps=8,
              weight_bits=4, leak_shift=3, v_th=1.0, seed=0, kernel=3, padding=1,
              weight_frac_bits=None) -> tuple[dict, dict]:
    """(model.json dict, weights dict) of a random network; see the module docstring."""
    rng = np.random.default_rng(seed)
    lim = (1 << (weight_bits - 1)) - 1
    wf = weight_bits if weight_frac_bits is None else weight_frac_bits
    toks = _tokens(layers)
    leaks = iter(per_spiking_layer(leak_shift, toks))
    s, first, out_layers, weights = tuple(in_shape), True, [], {}
    in_frac = 8
    kinds = [kind_of(tok) for tok in toks]
    for i, (tok, kind, name) in enumerate(zip(toks, kinds, layer_names(kinds))):
        if kind == "pool":
            size = int(tok[1:])
            out = (s[0], s[1] // size, s[2] // size)
            out_layers.append(dict(name=name, kind="pool", mode="max", size=size,
                                   in_shape=list(s), out_shape=list(out)))
            s = out
            continue
        if kind == "conv":
            n = int(tok[1:])
            out = (n, s[1] + 2 * padding - kernel + 1, s[2] + 2 * padding - kernel + 1)
            shape = (n, s[0], kernel, kernel)
        else:
            n = classes if kind == "readout" else int(tok[1:])
            out = (n,)
            shape = (n, int(np.prod(s)))
        w = rng.integers(-lim, lim + 1, size=shape).astype(np.int8)
        weights[name] = w
        L = dict(name=name, kind=kind, input="codes" if first else "spikes", in_shape=list(s),
                 out_shape=list(out), weights=name, weight_bits=weight_bits,
                 weight_frac_bits=wf, in_frac_bits=in_frac, acc_frac_bits=in_frac + wf)
        if kind == "conv":
            L.update(kernel=kernel, padding=padding, stride=1)
        if kind != "readout":
            fan_in = int(np.prod(shape[1:]))
            typical = math.sqrt(fan_in) * max(lim, 1) * (128 if first else 0.5)
            L.update(threshold=max(1, int(round(v_th * typical))), leak_shift=next(leaks),
                     reset="subtract")
        out_layers.append(L)
        s, first, in_frac = out, False, 0
    model = {
        "format": IR.FORMAT, "version": IR.VERSION, "timesteps": int(timesteps),
        "input": {"shape": list(in_shape), "bits": 8, "signed": False, "frac_bits": 8,
                  "encoding": "direct"},
        "output": {"classes": int(classes), "argmax_tie": "lowest_index"},
        "source": {"arch": "random", "quant": f"{weight_bits}bit", "layers": toks,
                   "seed": seed},
        "layers": out_layers,
    }
    IR.annotate_widths(model, weights)
    IR.validate(model, weights)
    return model, weights


def random_network(*args, **kw) -> Network:
    """random_ir as a core.network.Network."""
    return Network(*random_ir(*args, **kw))


def extreme(net: Network, pattern: str) -> Network:
    """The same network with every weight at +max ("+max"), output channels alternately all
    +max and all -max ("split": both extremes in one network), or a +max/-max checkerboard
    ("checker"); widths re-derived so the widest registers are reached."""
    if pattern not in ("+max", "split", "checker"):
        raise ValueError(f"unknown pattern {pattern!r}")
    model, out = net.model, {}
    for L in net.layers:
        if L.kind == "pool":
            continue
        lim = (1 << (L.weight_bits - 1)) - 1
        w = L.weights
        if pattern == "+max":
            out[L.name] = np.full_like(w, lim)
        elif pattern == "split":
            sign = np.where(np.arange(w.shape[0]) % 2 == 0, 1, -1).reshape(-1, *[1] * (w.ndim - 1))
            out[L.name] = (sign * lim).astype(w.dtype) * np.ones_like(w)
        else:
            sign = np.where(np.indices(w.shape).sum(0) % 2 == 0, 1, -1)
            out[L.name] = (sign * lim).astype(w.dtype)
    IR.annotate_widths(model, out)
    return Network(model, out)
