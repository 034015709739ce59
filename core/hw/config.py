"""The knobs of the generated hardware (parallelism, FIFO depths, clock, budgets), for every backend.

Defaults target a small FPGA (about 10k LUTs for the default network, see docs/ARCHITECTURE.md);
a user file given with --config overrides any subset. Each backend writes the complete effective
settings into its project (hls_config.json, rtl_config.json; the same schema), so a project
records how it was built and that file can be fed back with --config to either backend.
Errors name the setting as `settings.<key>` (e.g. `settings.layers.conv2.lanes`), whichever file.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from core.errors import GeneratorError

# Output channels (or neurons) updated in parallel per weight layer, by kind, when the config
# does not name the layer: capped by the layer's own output count.
DEFAULT_LANES = {"conv": 16, "dense": 16, "readout": 16}

DEFAULTS = {
    "clock_mhz": 200.0,
    # spike rate (fraction of a spike map's neurons firing per timestep) the latency report
    # assumes for every spike map when no real images are given: 15% is the design's worst
    # case (docs/ARCHITECTURE.md)
    "spike_rate": 0.15,
    # per-layer on-chip memory budget (membranes, stored current, weights, pooling state), kbit;
    # 4860 kbit is the block RAM of an Artix-7 100T
    "layer_memory_kbits": 4860,
    # depth of the streams between processes: "auto" sizes each from its worst-case token count
    # (a whole timestep of slices for a spike stream, a whole image for the first layer's
    # current, so that images overlap), or one integer for every spike stream
    "fifo_depth": "auto",
    # HLS top: free-running dataflow with only clock, reset and AXI4-Stream ports
    "block_protocol": "ap_ctrl_none",
    "part": "xc7a100tcsg324-1",
    # folding to a target (core.hw.folding): lanes chosen per layer, the least area (the
    # calibrated model of core/hw/area_ecp5.json) whose cycle model meets these at clock_mhz
    # (null: no target; lanes from "layers" or DEFAULT_LANES)
    "target_latency_us": None,
    "target_interval_us": None,
    # images of the run whose golden spike traces the folding's cycle model runs on
    "fold_images": 8,
    # {"conv2": {"lanes": 16}, ...}: missing layers get DEFAULT_LANES; a layer's "kernel" picks
    # a variant kind of the one the mapping chooses (core.hw.kernels: Kernel.variant_of); the
    # first conv layer's "taps" (1, K or K*K: kernel taps per cycle, each lane's multipliers)
    "layers": {},
}

_CHECKS = {
    "clock_mhz": (float, lambda v: v > 0, "a positive number"),
    "spike_rate": (float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "layer_memory_kbits": (float, lambda v: v > 0, "a positive number"),
    "fifo_depth": ((int, str), lambda v: v == "auto" or (isinstance(v, int) and v >= 4),
                   '"auto" or an integer >= 4'),
    # ap_ctrl_hs would make every image wait for the previous one to leave the dataflow
    "block_protocol": (str, lambda v: v in ("ap_ctrl_none", "ap_ctrl_chain"),
                       "ap_ctrl_none or ap_ctrl_chain (ap_ctrl_hs serializes images)"),
    "part": (str, lambda v: bool(v), "a non-empty part name"),
    "target_latency_us": ((float, type(None)), lambda v: v is None or v > 0,
                          "a positive number of microseconds or null"),
    "target_interval_us": ((float, type(None)), lambda v: v is None or v > 0,
                           "a positive number of microseconds or null"),
    "fold_images": (int, lambda v: 1 <= v <= 1000, "an integer in 1..1000"),
}


def _check(key, value):
    typ, ok, what = _CHECKS[key]
    if typ is float:
        typ = (int, float)
    elif isinstance(typ, tuple) and float in typ:
        typ = (int, *typ)
    if isinstance(value, bool) or not isinstance(value, typ) or not ok(value):
        raise GeneratorError(f"settings.{key}: expected {what}, got {value!r}")
    return value


def load(path=None, overrides: dict | None = None) -> dict:
    """Defaults, updated from the JSON file at `path` and then from `overrides` (both optional)."""
    cfg = copy.deepcopy(DEFAULTS)
    sources = []
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise GeneratorError(f"--config {p}: no such file")
        try:
            sources.append(json.loads(p.read_text()))
        except json.JSONDecodeError as e:
            raise GeneratorError(f"--config {p}: not valid JSON: {e}") from e
    if overrides:
        sources.append(overrides)
    for src in sources:
        if not isinstance(src, dict):
            raise GeneratorError("settings: the top level must be an object")
        for key, value in src.items():
            if key == "layers":
                if not isinstance(value, dict):
                    raise GeneratorError("settings.layers: expected an object of layer names")
                for name, knobs in value.items():
                    if not isinstance(knobs, dict):
                        raise GeneratorError(f"settings.layers.{name}: expected an object")
                    cfg["layers"].setdefault(name, {}).update(knobs)
            elif key in _CHECKS:
                cfg[key] = _check(key, value)
            elif key.startswith("_"):  # comments
                continue
            else:
                raise GeneratorError(f"settings.{key}: unknown setting "
                                     f"(known: {', '.join(sorted(DEFAULTS))})")
    return cfg


def layer_lanes(cfg: dict, layer) -> int:
    """The lanes of a weight layer: its config entry, or the default for its kind."""
    name, outputs = layer.name, layer.outputs
    knobs = cfg["layers"].get(name, {})
    unknown = set(knobs) - {"lanes", "kernel", "taps"}
    if unknown:
        raise GeneratorError(f"settings.layers.{name}.{sorted(unknown)[0]}: unknown knob "
                             "(known: lanes, kernel, taps)")
    lanes = knobs.get("lanes", min(outputs, DEFAULT_LANES[layer.kind]))
    if isinstance(lanes, bool) or not isinstance(lanes, int) or not 1 <= lanes <= outputs:
        raise GeneratorError(f"settings.layers.{name}.lanes: expected an integer in "
                             f"1..{outputs} (the layer's outputs), got {lanes!r}")
    return lanes


def tap_options(layer) -> list[int]:
    """Kernel taps per cycle a layer's current kernel can take: the first conv layer's one tap,
    one kernel row or the whole window (its frame banked to match); other layers 1."""
    if layer.first and layer.kind == "conv":
        return sorted({1, layer.kernel, layer.kernel ** 2})
    return [1]


def layer_taps(cfg: dict, layer) -> int:
    """The kernel taps per cycle of a layer (settings.layers.<name>.taps, default 1)."""
    taps = cfg["layers"].get(layer.name, {}).get("taps", 1)
    allowed = tap_options(layer)
    if isinstance(taps, bool) or taps not in allowed:
        why = (f"one of {', '.join(map(str, allowed))} (one tap, a kernel row, the window)"
               if len(allowed) > 1 else "1 (only the first conv layer takes several taps)")
        raise GeneratorError(f"settings.layers.{layer.name}.taps: expected {why}, "
                             f"got {taps!r}")
    return taps


def check_layer_names(cfg: dict, net) -> None:
    """Every configured layer must exist in the IR and carry weights (pools have no knobs)."""
    kinds = {L.name: L.kind for L in net.layers}
    for name in cfg["layers"]:
        if name not in kinds:
            raise GeneratorError(f"settings.layers.{name}: no layer of that name in the IR "
                                 f"(layers: {', '.join(map(str, kinds))})")
        if kinds[name] == "pool" and set(cfg["layers"][name]) - {"kernel"}:
            raise GeneratorError(f"settings.layers.{name}: a pool layer has one knob, kernel")


def layer_kernel(cfg: dict, layer, default: str, registry: dict) -> str:
    """The kernel kind of a layer: the mapping's `default`, or a variant of it that the layer's
    "kernel" knob names (a registered kind whose variant_of is `default`)."""
    name = cfg["layers"].get(layer.name, {}).get("kernel", default)
    if name == default:
        return name
    variants = sorted(k for k, v in registry.items() if v.variant_of == default)
    if name not in variants:
        raise GeneratorError(f"settings.layers.{layer.name}.kernel: {name!r} cannot implement "
                             f"this layer (its kernel is {default}; variants: "
                             f"{', '.join(variants) or 'none'})")
    return name


def effective(cfg: dict, lanes: dict, kernels: dict | None = None,
              taps: dict | None = None) -> dict:
    """The settings as built: every weight layer's lanes filled in, each kernel variant chosen
    and every taps knob above 1 (written into each project)."""
    out = copy.deepcopy(cfg)
    out["layers"] = {name: {"lanes": n} for name, n in lanes.items()}
    for name, k in (kernels or {}).items():
        out["layers"].setdefault(name, {})["kernel"] = k
    for name, n in (taps or {}).items():
        if n > 1:
            out["layers"][name]["taps"] = n
    return out
