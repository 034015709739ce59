"""The hardware IR: model.json (structure, integer parameters, widths) + weights.npz.

Everything downstream of training (golden model, HLS generator, RTL) reads only this, through
core.network.Network.
Validation on load names the offending field, so a hand-edited or truncated IR fails early.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from core.atomic import atomic_dir
from core.errors import IRError
from core.widths import layer_ranges, readout_ranges, signed_bits

FORMAT = "hire-snn-ir"
VERSION = 1
KINDS = ("conv", "dense", "pool", "readout")
WEIGHT_KINDS = ("conv", "dense", "readout")
FP32_EXACT = 1 << 24  # |value| in LSBs below which the float QAT model is exact


def _need(d: dict, key: str, where: str, types=None):
    if not isinstance(d, dict) or key not in d:
        raise IRError(f"{where}.{key}: missing field")
    v = d[key]
    if types is not None and (not isinstance(v, types) or (isinstance(v, bool) and types is not bool)):
        raise IRError(f"{where}.{key}: expected {getattr(types, '__name__', types)}, got {v!r}")
    return v


def _shape(d, key, where):
    s = _need(d, key, where, list)
    if not s or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in s):
        raise IRError(f"{where}.{key}: expected a list of positive ints, got {s!r}")
    return tuple(s)


def _range(d, key, where):
    r = _need(d, key, where, list)
    if len(r) != 2 or not all(isinstance(x, int) for x in r) or r[0] > r[1]:
        raise IRError(f"{where}.{key}: expected [lo, hi] ints, got {r!r}")
    return r


def expected_weight_shape(layer: dict) -> tuple:
    cin = layer["in_shape"][0]
    if layer["kind"] == "conv":
        return (layer["out_shape"][0], cin, layer["kernel"], layer["kernel"])
    return (layer["out_shape"][0], int(np.prod(layer["in_shape"])))


def validate(model: dict, weights: dict) -> None:
    """Raise IRError naming the first field that is missing, inconsistent or out of range."""
    if not isinstance(model, dict):
        raise IRError("model.json: top level must be an object")
    fmt = _need(model, "format", "model", str)
    if fmt != FORMAT:
        raise IRError(f"model.format: expected {FORMAT!r}, got {fmt!r}")
    ver = _need(model, "version", "model", int)
    if ver != VERSION:
        raise IRError(f"model.version: this tool reads IR version {VERSION}, got {ver}")
    T = _need(model, "timesteps", "model", int)
    if not 1 <= T <= 1024:
        raise IRError(f"model.timesteps: must be in 1..1024, got {T}")
    inp = _need(model, "input", "model", dict)
    shape = _shape(inp, "shape", "input")
    if len(shape) != 3:
        raise IRError(f"input.shape: expected [C, H, W], got {list(shape)}")
    if _need(inp, "bits", "input", int) != 8 or _need(inp, "signed", "input", bool):
        raise IRError("input.bits/signed: only unsigned 8-bit input codes are supported")
    if _need(inp, "encoding", "input", str) != "direct":
        raise IRError("input.encoding: only direct input is supported in hardware")
    _need(inp, "frac_bits", "input", int)
    layers = _need(model, "layers", "model", list)
    if not layers:
        raise IRError("model.layers: empty")
    cur = shape
    seen_weights = False
    for i, L in enumerate(layers):
        w = f"layers[{i}]"
        kind = _need(L, "kind", w, str)
        if kind not in KINDS:
            raise IRError(f"{w}.kind: unknown layer kind {kind!r} (known: {', '.join(KINDS)})")
        _need(L, "name", w, str)
        ins, outs = _shape(L, "in_shape", w), _shape(L, "out_shape", w)
        if ins != cur:
            raise IRError(f"{w}.in_shape: {list(ins)} does not match the previous output {list(cur)}")
        if kind == "readout" and i != len(layers) - 1:
            raise IRError(f"{w}.kind: the readout must be the last layer")
        if kind == "pool":
            if not seen_weights:
                raise IRError(f"{w}.kind: pooling must follow a spiking layer (inputs are codes)")
            size = _need(L, "size", w, int)
            if _need(L, "mode", w, str) != "max" or size < 1 or len(ins) != 3:
                raise IRError(f"{w}: only max (OR) pooling of a [C, H, W] spike map is supported")
            if outs != (ins[0], ins[1] // size, ins[2] // size):
                raise IRError(f"{w}.out_shape: {list(outs)} is not in_shape pooled by {size}")
        if kind == "conv":
            k, p = _need(L, "kernel", w, int), _need(L, "padding", w, int)
            if len(ins) != 3 or outs[1:] != (ins[1] + 2 * p - k + 1, ins[2] + 2 * p - k + 1):
                raise IRError(f"{w}.out_shape: {list(outs)} does not follow from in_shape, kernel, padding")
        if kind in ("dense", "readout") and len(outs) != 1:
            raise IRError(f"{w}.out_shape: a {kind} layer has a 1-D output")
        if kind in WEIGHT_KINDS:
            _validate_weight_layer(L, w, weights, not seen_weights, T)
            seen_weights = True
        cur = outs
    if layers[-1]["kind"] != "readout":
        raise IRError("model.layers: the last layer must be the readout")
    out = _need(model, "output", "model", dict)
    if _need(out, "classes", "output", int) != cur[0]:
        raise IRError(f"output.classes: {out['classes']} but the readout has {cur[0]} outputs")


def _validate_weight_layer(L, w, weights, first, T):
    src = _need(L, "input", w, str)
    if src != ("codes" if first else "spikes"):
        raise IRError(f"{w}.input: expected {'codes' if first else 'spikes'}, got {src!r}")
    bits = _need(L, "weight_bits", w, int)
    if not 2 <= bits <= 8:
        raise IRError(f"{w}.weight_bits: must be in 2..8, got {bits}")
    _need(L, "weight_frac_bits", w, int)
    key = _need(L, "weights", w, str)
    if key not in weights:
        raise IRError(f"{w}.weights: array {key!r} missing from weights.npz")
    arr = weights[key]
    if not np.issubdtype(arr.dtype, np.integer):
        raise IRError(f"{w}.weights: array {key!r} must be integer, got {arr.dtype}")
    if tuple(arr.shape) != expected_weight_shape(L):
        raise IRError(f"{w}.weights: shape {list(arr.shape)}, expected {list(expected_weight_shape(L))}")
    lim = (1 << (bits - 1)) - 1
    if arr.size and (arr.min() < -lim or arr.max() > lim):
        raise IRError(f"{w}.weights: values in [{arr.min()}, {arr.max()}] exceed "
                      f"{bits}-bit narrow range [-{lim}, {lim}]")
    in_max = 255 if first else 1
    if L["kind"] == "readout":
        want_cur, want_acc = readout_ranges(arr, in_max, T)
        _check_width(L, w, "current", want_cur)
        _check_width(L, w, "acc", want_acc)
        return
    th = _need(L, "threshold", w, int)
    if th < 1:
        raise IRError(f"{w}.threshold: must be >= 1, got {th}")
    k = _need(L, "leak_shift", w, int)
    if not 1 <= k <= 15:
        raise IRError(f"{w}.leak_shift: must be in 1..15, got {k}")
    if _need(L, "reset", w, str) != "subtract":
        raise IRError(f"{w}.reset: only 'subtract' (soft reset) is supported")
    want_cur, want_mem = layer_ranges(arr, in_max, th, k, T)
    _check_width(L, w, "current", want_cur)
    _check_width(L, w, "membrane", want_mem)


def _check_width(L, w, name, want):
    rng = _range(L, f"{name}_range", w)
    bits = _need(L, f"{name}_bits", w, int)
    if rng[0] > want[0] or rng[1] < want[1]:
        raise IRError(f"{w}.{name}_range: {rng} does not cover the derived range {list(want)}")
    if bits < signed_bits(*rng):
        raise IRError(f"{w}.{name}_bits: {bits} bits cannot hold {rng} "
                      f"(needs {signed_bits(*rng)})")


def annotate_widths(model: dict, weights: dict) -> dict:
    """Fill current/membrane/acc ranges and widths of every weight layer from interval analysis."""
    T = model["timesteps"]
    in_max = 255  # the first weight layer sees 8-bit codes, later ones binary spikes
    for L in model["layers"]:
        if L["kind"] not in WEIGHT_KINDS:
            continue
        w_int = weights[L["weights"]]
        if L["kind"] == "readout":
            cur, acc = readout_ranges(w_int, in_max, T)
            named = {"current": cur, "acc": acc}
        else:
            cur, mem = layer_ranges(w_int, in_max, L["threshold"], L["leak_shift"], T)
            named = {"current": cur, "membrane": mem}
        for name, rng in named.items():
            L[f"{name}_range"] = [int(rng[0]), int(rng[1])]
            L[f"{name}_bits"] = signed_bits(*rng)
        in_max = 1
    return model


def save(out_dir, model: dict, weights: dict) -> Path:
    """Validate, then write model.json + weights.npz atomically into out_dir."""
    validate(model, weights)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        (tmp / "model.json").write_text(json.dumps(model, indent=2) + "\n")
        np.savez(tmp / "weights.npz", **{k: np.asarray(v, dtype=np.int8) for k, v in weights.items()})
    return out_dir


def read(ir_dir) -> tuple[dict, dict]:
    """Read and validate an IR folder (or a run folder holding ir/): (model.json, weights).

    Backends use core.network.Network.load, the typed read-only view of the same files.
    """
    ir_dir = Path(ir_dir)
    if (ir_dir / "ir" / "model.json").exists():
        ir_dir = ir_dir / "ir"
    mj, wz = ir_dir / "model.json", ir_dir / "weights.npz"
    if not mj.is_file() or not wz.is_file():
        raise IRError(f"{ir_dir}: no IR here (need model.json and weights.npz); "
                      "make one with `python -m quant.export CHECKPOINT --out DIR`")
    try:
        model = json.loads(mj.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IRError(f"{mj}: not valid JSON: {e}") from e
    try:
        with np.load(wz, allow_pickle=False) as z:
            weights = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise IRError(f"{wz}: unreadable weights archive: {e}") from e
    validate(model, weights)
    return model, weights


def sha256(model: dict, weights: dict) -> str:
    """Content hash of an IR: canonical model.json plus every weight array's int8 bytes."""
    h = hashlib.sha256(json.dumps(model, sort_keys=True).encode())
    for k in sorted(weights):
        a = np.ascontiguousarray(np.asarray(weights[k]).astype(np.int8))
        h.update(f"{k}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()
