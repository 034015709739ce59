"""Spike rates, synaptic operation counts and 45 nm compute energy of a QuantSNN.

Energy per operation (Horowitz, ISSCC 2014, 45 nm, 32-bit float, as the paper uses):
E_MAC = 4.6 pJ, E_AC = 0.9 pJ. Only synaptic operations are counted (no memory, no neuron
updates), as in the paper.

Dense ops of a weight layer (its MACs for one input frame): conv H_out*W_out*C_out*C_in*k*k,
dense / readout in*out.

SNN cost per image:
- Direct (analog) input: the first layer's input is the same image at every timestep, so its
  current is computed ONCE per image (as the model and our hardware do): dense-ops MACs.
  The paper's convention charges those MACs at every timestep (T x dense-ops MACs); that
  figure is reported beside ours (`*_paper_convention`).
- Spike-driven layers (every later layer; the first one too for rate-coded input): only
  arriving spikes cost an accumulate: ACs = (rate of the spikes arriving at the layer) x
  dense ops x T. The arriving spikes are the previous LIF layer's after any OR pooling between
  them (what `spike_rates` reports as `out_rate`).
ANN cost: the same network as an ANN, every layer's dense ops as MACs, once per image.

Pure functions: nothing is printed or written.
"""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from core.layer_tokens import layer_names as ir_layer_names

E_MAC_PJ = 4.6
E_AC_PJ = 0.9


def layer_names(model) -> list[tuple[str, object, tuple, tuple]]:
    """(name, block, in_shape, out_shape) for every block, named as quant/export.py does
    (core.layer_tokens.layer_names: conv1, pool1, conv2, dense1, ..., readout)."""
    names = ir_layer_names(b.kind for b in model.blocks)
    return [(name, b, tuple(ins), tuple(outs))
            for name, b, (ins, outs) in zip(names, model.blocks, model.shapes)]


def dense_ops(block, in_shape, out_shape) -> int:
    """MACs of a weight layer for one input frame (one timestep)."""
    if block.kind == "conv":
        c_out, h, w = out_shape
        return int(h * w * c_out * in_shape[0] * block.kernel * block.kernel)
    if block.kind in ("dense", "readout"):
        return int(block.fc.in_features * block.fc.out_features)
    raise ValueError(f"a {block.kind} block has no synaptic operations")


def _numel(s):
    return int(math.prod(int(d) for d in s))


def spike_rates(model, x, batch_size: int = 256, seed: int = 0) -> list[dict]:
    """Mean fraction of neurons spiking per timestep, per LIF layer, over images x (N, C, H, W).

    Returns, in layer order, {"layer", "rate", "out_rate", "neurons"}: `rate` is the layer's
    own spike rate, `out_rate` that of the spikes it sends on (after the OR pooling that
    follows it, if any; what the next weight layer receives), `neurons` the layer's neurons.
    Rate-coded models get a first entry "input" for the Poisson input spikes (seeded by
    `seed`). The readout does not spike and has no entry.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or len(x) == 0:
        raise ValueError("x must be a non-empty tensor of images (N, C, H, W) in [0, 1]")
    rate_coded = model.cfg.encoding == "rate"
    names = layer_names(model)
    dev = next(model.parameters()).device
    gen = torch.Generator(device=dev).manual_seed(int(seed)) if rate_coded else None
    # entries: LIF layers (and the input), each with the pools that follow it
    entries = ([("input", "input", (tuple(model.cfg.in_shape)))] if rate_coded else [])
    pools_after: dict[str, list[int]] = {e[0]: [] for e in entries}
    for name, b, ins, outs in names:
        if b.kind in ("conv", "dense"):
            entries.append((name, b.kind, outs))
            pools_after[name] = []
        elif b.kind == "pool" and entries:
            pools_after[entries[-1][0]].append(b.size)
    sums = {e[0]: [0.0, 0, 0.0, 0] for e in entries}  # spikes, count, out spikes, out count

    def add(name, s):
        acc = sums[name]
        acc[0] += float(s.double().sum())
        acc[1] += s.numel()
        for size in pools_after[name]:
            p = F.max_pool2d(s.flatten(0, 1), size)
            s = p.view(*s.shape[:2], *p.shape[1:])
        acc[2] += float(s.double().sum())
        acc[3] += s.numel()

    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                xb = x[i:i + batch_size].to(dev, torch.float32)
                if rate_coded:
                    from train.attacks import poisson
                    xb = poisson(xb, int(model.cfg.timesteps), gen)
                    add("input", xb)
                _, _, rec = model(xb, record=True)
                lif = [e for e in entries if e[1] != "input"]
                for (name, _, _), (spikes, _) in zip(lif, rec):
                    add(name, spikes)
    finally:
        model.train(was)
    return [{"layer": name, "rate": sums[name][0] / sums[name][1],
             "out_rate": sums[name][2] / sums[name][3], "neurons": _numel(shape)}
            for name, _, shape in entries]


def _rate_table(rates) -> dict[str, tuple[float, float]]:
    """name -> (rate, out_rate) from spike_rates' list, or a {name: rate} mapping."""
    table = {}
    if isinstance(rates, dict):
        items = [{"layer": k, **(v if isinstance(v, dict) else {"rate": v})}
                 for k, v in rates.items()]
    else:
        items = list(rates)
    for r in items:
        if not isinstance(r, dict) or "layer" not in r or "rate" not in r:
            raise ValueError(f"a rate entry must be {{'layer': name, 'rate': r}}, got {r!r}")
        name = r["layer"]
        vals = []
        for key in ("rate", "out_rate"):
            v = r.get(key, r["rate"]) if key == "out_rate" else r["rate"]
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 <= v <= 1.0:
                raise ValueError(f"{name}.{key} must be a spike rate in [0, 1], got {v!r}")
            vals.append(float(v))
        table[name] = (vals[0], vals[1])
    return table


def energy(model, rates, e_mac_pj: float = E_MAC_PJ, e_ac_pj: float = E_AC_PJ) -> dict:
    """Synaptic operations and compute energy per image (see the module docstring).

    rates: spike_rates(...)'s list, or {layer name: rate}. Each spike-driven layer uses the
    out_rate of the LIF layer (or "input", rate-coded) before it, its rate when no out_rate
    is given. Returns {"layers": [...], "snn_pj_per_image", "snn_pj_per_image_paper_convention",
    "ann_pj_per_image", "ratio_ann_over_snn", "ratio_ann_over_snn_paper_convention",
    "synaptic_events", "dense_synaptic_ops", "macs_per_image", "acs_per_image", ...}.

    synaptic_events: spike-driven synaptic operations (ACs) per image;
    dense_synaptic_ops: every weight layer's dense ops once (= the ANN's MACs per image).
    """
    table = _rate_table(rates)
    T = int(model.cfg.timesteps)
    rate_coded = model.cfg.encoding == "rate"
    layers = []
    prev = "input" if rate_coded else None  # the producer of the next weight layer's input
    for name, b, ins, outs in layer_names(model):
        if b.kind == "pool":
            continue
        ops = dense_ops(b, ins, outs)
        row = {"layer": name, "kind": b.kind, "dense_ops": ops, "ann_pj": ops * e_mac_pj}
        if prev is None:  # direct input: analog frame, current computed once per image
            row.update(input="analog", in_rate=None, macs=ops, acs=0.0, pj=ops * e_mac_pj,
                       macs_paper_convention=ops * T, pj_paper_convention=ops * T * e_mac_pj)
        else:
            if prev not in table:
                raise ValueError(f"no spike rate for {prev!r} (feeds {name}); rates has "
                                 f"{sorted(table) or 'nothing'}")
            r = table[prev][1]
            acs = r * ops * T
            row.update(input="spikes", in_rate=r, macs=0, acs=acs, pj=acs * e_ac_pj,
                       macs_paper_convention=0, pj_paper_convention=acs * e_ac_pj)
        layers.append(row)
        prev = name
    snn = sum(r["pj"] for r in layers)
    snn_paper = sum(r["pj_paper_convention"] for r in layers)
    ann = sum(r["ann_pj"] for r in layers)
    return {
        "layers": layers,
        "timesteps": T,
        "encoding": model.cfg.encoding,
        "e_mac_pj": e_mac_pj,
        "e_ac_pj": e_ac_pj,
        "first_layer": ("spike-driven (rate-coded input)" if rate_coded else
                        "MACs once per image (direct input; the paper convention: every timestep)"),
        "snn_pj_per_image": snn,
        "snn_pj_per_image_paper_convention": snn_paper,
        "ann_pj_per_image": ann,
        "ratio_ann_over_snn": ann / snn if snn > 0 else math.inf,
        "ratio_ann_over_snn_paper_convention": ann / snn_paper if snn_paper > 0 else math.inf,
        "macs_per_image": sum(r["macs"] for r in layers),
        "acs_per_image": sum(r["acs"] for r in layers),
        "synaptic_events": sum(r["acs"] for r in layers),
        "dense_synaptic_ops": sum(r["dense_ops"] for r in layers),
    }
