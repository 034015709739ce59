"""Checkpoint -> IR: read the integers Brevitas' quantizers produce, derive widths, validate.

Usage: python -m quant.export CHECKPOINT [--out DIR]   (default DIR: the checkpoint's run/ir)
Exit status: 0 written, 2 an error (missing or corrupt checkpoint, a model with no IR).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from core import ir as IR
from core.errors import FlowError, cli, run_cli
from core.layer_tokens import layer_names
from quant import quantizers as Q
from quant.checkpoint import load as load_checkpoint
from quant.lif import threshold_code
from quant.model import QuantSNN


class ExportError(FlowError, ValueError):
    """A trained model that has no hardware IR (float, rate-coded, too wide for exact fp32)."""


def to_ir(model: QuantSNN) -> tuple[dict, dict]:
    """The model's integer description (model.json dict, weights dict of int8 arrays)."""
    cfg = model.cfg
    if model.bits is None:
        raise ExportError("a float (--quant float) model has no integer form; train with "
                          "--quant 8bit, 4bit or 2bit to export it")
    if cfg.encoding != "direct":
        raise ExportError("only direct-input models map to hardware; this one is rate-coded")
    layers, weights = [], {}
    in_frac = Q.INPUT_FRAC_BITS
    first = True
    names = layer_names(b.kind for b in model.blocks)
    with torch.no_grad():
        for b, (ins, outs), name in zip(model.blocks, model.shapes, names):
            L = {"name": name, "kind": b.kind, "in_shape": list(ins), "out_shape": list(outs)}
            if b.kind == "pool":
                L.update(mode="max", size=b.size)
                layers.append(L)
                continue
            layer = b.conv if b.kind == "conv" else b.fc
            qw = layer.quant_weight()
            wf = Q.frac_bits_of(qw.scale)
            w_int = qw.int().cpu().numpy().astype(np.int8)
            weights[name] = w_int
            L.update(input="codes" if first else "spikes", weights=name,
                     weight_bits=int(qw.bit_width), weight_frac_bits=wf,
                     in_frac_bits=in_frac, acc_frac_bits=in_frac + wf)
            if b.kind == "conv":
                L.update(kernel=b.kernel, padding=b.padding, stride=1)
            if b.kind != "readout":
                lsb = 2.0 ** -(in_frac + wf)
                L.update(threshold=int(threshold_code(b.lif.v_th, lsb)),
                         leak_shift=b.lif.leak_shift, reset="subtract")
            layers.append(L)
            first, in_frac = False, 0
    model_json = {
        "format": IR.FORMAT, "version": IR.VERSION, "timesteps": int(cfg.timesteps),
        "input": {"shape": list(cfg.in_shape), "bits": Q.INPUT_BITS, "signed": False,
                  "frac_bits": Q.INPUT_FRAC_BITS, "encoding": "direct"},
        "output": {"classes": int(cfg.n_classes), "argmax_tie": "lowest_index"},
        "semantics": {"leak": "U -= U >> leak_shift (arithmetic shift = floor)",
                      "integrate": "U += I_t", "spike": "s = U >= threshold",
                      "reset": "U -= s * threshold", "pool": "OR over the window",
                      "readout": "acc = sum over t of I_t; class = lowest index of max acc",
                      "flatten": "C-order (channel, row, column)"},
        "source": {"arch": cfg.arch, "quant": cfg.quant, "layers": list(cfg.layers)},
        "layers": layers,
    }
    IR.annotate_widths(model_json, weights)
    for L in layers:
        for key in ("membrane_range", "acc_range"):
            if key in L and max(abs(v) for v in L[key]) >= IR.FP32_EXACT:
                raise ExportError(f"{L['name']}.{key} {L[key]} reaches 2^24 LSBs: the float QAT "
                                  "model would no longer be exact; use fewer weight bits or T")
    return model_json, weights


def export_checkpoint(checkpoint, out_dir=None) -> Path:
    model, _ = load_checkpoint(checkpoint)
    ckpt = Path(checkpoint)
    out = Path(out_dir) if out_dir else (ckpt if ckpt.is_dir() else ckpt.parent) / "ir"
    model_json, weights = to_ir(model)
    return IR.save(out, model_json, weights)


@cli
def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m quant.export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint.pt or a run folder holding one")
    ap.add_argument("--out", help="IR folder to write (default: ir/ beside the checkpoint)")
    a = ap.parse_args(argv)
    out = export_checkpoint(a.checkpoint, a.out)
    print(f"wrote IR to {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
