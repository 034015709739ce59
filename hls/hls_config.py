"""hls_config.json: the knobs of the generated hardware (parallelism, clock, budgets).

Defaults target a small FPGA (about 10k LUTs for the default network, see docs/HLS.md); a user
file given with --config overrides any subset. The generator writes the complete effective
settings into the project as hls_config.json, so a project records how it was built and that
file can be fed back with --config.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from hls.errors import GeneratorError

# Output channels (or neurons) updated in parallel per weight layer, by kind, when the config
# does not name the layer: capped by the layer's own output count.
DEFAULT_LANES = {"conv": 16, "dense": 16, "readout": 16}

DEFAULTS = {
    "clock_mhz": 200.0,
    # spike rate (fraction of a spike map's neurons firing per timestep) the latency report
    # assumes for every spike map: 15% is the design's worst case (docs/HLS.md)
    "spike_rate": 0.15,
    # per-layer on-chip memory budget (membranes, stored current, weights, pooling state), kbit;
    # 4860 kbit is the block RAM of an Artix-7 100T
    "layer_memory_kbits": 4860,
    "fifo_depth": 64,            # depth of the spike-slice streams between layers
    "block_protocol": "ap_ctrl_none",  # free-running dataflow: only clock, reset and AXI4-Stream ports
    "part": "xc7a100tcsg324-1",
    "loop_overhead_cycles": 4,   # pipeline fill/drain the latency model adds per loop entry
    "layers": {},                # {"conv2": {"lanes": 16}, ...}; missing layers get DEFAULT_LANES
}

_CHECKS = {
    "clock_mhz": (float, lambda v: v > 0, "a positive number"),
    "spike_rate": (float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "layer_memory_kbits": (float, lambda v: v > 0, "a positive number"),
    "fifo_depth": (int, lambda v: v >= 2, "an integer >= 2"),
    "block_protocol": (str, lambda v: v in ("ap_ctrl_none", "ap_ctrl_hs", "ap_ctrl_chain"),
                       "ap_ctrl_none, ap_ctrl_hs or ap_ctrl_chain"),
    "part": (str, lambda v: bool(v), "a non-empty part name"),
    "loop_overhead_cycles": (int, lambda v: v >= 0, "an integer >= 0"),
}


def _check(key, value):
    typ, ok, what = _CHECKS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float) if typ is float else typ) \
            or not ok(value):
        raise GeneratorError(f"hls_config.{key}: expected {what}, got {value!r}")
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
            raise GeneratorError("hls_config: the top level must be an object")
        for key, value in src.items():
            if key == "layers":
                if not isinstance(value, dict):
                    raise GeneratorError("hls_config.layers: expected an object of layer names")
                for name, knobs in value.items():
                    if not isinstance(knobs, dict):
                        raise GeneratorError(f"hls_config.layers.{name}: expected an object")
                    cfg["layers"].setdefault(name, {}).update(knobs)
            elif key in _CHECKS:
                cfg[key] = _check(key, value)
            elif key.startswith("_"):  # comments
                continue
            else:
                raise GeneratorError(f"hls_config.{key}: unknown setting "
                                     f"(known: {', '.join(sorted(DEFAULTS))})")
    return cfg


def layer_lanes(cfg: dict, layer: dict, outputs: int) -> int:
    """The lanes of a weight layer: its config entry, or the default for its kind."""
    name = layer["name"]
    knobs = cfg["layers"].get(name, {})
    unknown = set(knobs) - {"lanes"}
    if unknown:
        raise GeneratorError(f"hls_config.layers.{name}.{sorted(unknown)[0]}: unknown knob "
                             "(known: lanes)")
    lanes = knobs.get("lanes", min(outputs, DEFAULT_LANES[layer["kind"]]))
    if isinstance(lanes, bool) or not isinstance(lanes, int) or not 1 <= lanes <= outputs:
        raise GeneratorError(f"hls_config.layers.{name}.lanes: expected an integer in "
                             f"1..{outputs} (the layer's outputs), got {lanes!r}")
    return lanes


def check_layer_names(cfg: dict, model: dict) -> None:
    """Every configured layer must exist in the IR and carry weights (pools have no knobs)."""
    kinds = {L.get("name"): L.get("kind") for L in model["layers"]}
    for name in cfg["layers"]:
        if name not in kinds:
            raise GeneratorError(f"hls_config.layers.{name}: no layer of that name in the IR "
                                 f"(layers: {', '.join(map(str, kinds))})")
        if kinds[name] == "pool":
            raise GeneratorError(f"hls_config.layers.{name}: a pool layer has no knobs")


def effective(cfg: dict, lanes: dict) -> dict:
    """The settings as built: every weight layer's lanes filled in (written as hls_config.json)."""
    out = copy.deepcopy(cfg)
    out["layers"] = {name: {"lanes": n} for name, n in lanes.items()}
    return out
