"""IR -> HLS project folder (Vivado HLS conventions), the hls/ stage's entry point.

Usage: python -m hls.generate [RUN_OR_IR_DIR] [--out DIR] [--config JSON]

RUN_OR_IR_DIR is a run folder holding ir/ or an IR folder (model.json + weights.npz); default
runs/latest. The project goes to --out (default build/hls_prj), replacing it whole only when
generation succeeds. Same IR and settings give byte-identical files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hls import hls_config, mapping, writer
from hls.errors import GeneratorError
from quant import ir as IR

DEFAULT_RUN = Path("runs/latest")
DEFAULT_OUT = Path("build/hls_prj")
TRAIN_HINT = "train and export a model first: `python train/run.py --quant 4bit` makes one"


def load_ir(src=None) -> tuple[dict, dict]:
    """(model, weights) of a run or IR folder, with an error that says how to make one."""
    src = Path(src) if src is not None else DEFAULT_RUN
    if not src.exists():
        raise GeneratorError(f"{src}: no such run or IR folder; {TRAIN_HINT}")
    if not ((src / "model.json").is_file() or (src / "ir" / "model.json").is_file()):
        raise GeneratorError(f"{src}: no IR here (need {src}/ir/model.json or {src}/model.json); "
                             f"{TRAIN_HINT}")
    try:
        return IR.load(src)
    except IR.IRError as e:
        raise GeneratorError(f"invalid IR: {e}") from e


def generate(model: dict, weights: dict, out=DEFAULT_OUT, config=None,
             overrides: dict | None = None) -> Path:
    """Map the IR (errors before any file is written), then write the project atomically."""
    settings = hls_config.load(config, overrides)
    design = mapping.build(model, weights, settings)
    return writer.write(design, weights, out)


def design_of(model: dict, weights: dict, config=None, overrides: dict | None = None):
    """The mapped Design without writing anything (for the latency model and tests)."""
    return mapping.build(model, weights, hls_config.load(config, overrides))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hls.generate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder (with ir/) or IR folder (default {DEFAULT_RUN})")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help=f"project folder to write (default {DEFAULT_OUT})")
    ap.add_argument("--config", help="hls_config.json with knobs to override (lanes per layer, "
                                     "clock_mhz, spike_rate, ...; see docs/HLS.md)")
    a = ap.parse_args(argv)
    try:
        model, weights = load_ir(a.src)
        out = generate(model, weights, a.out, a.config)
    except GeneratorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    lat = (out / "latency.json").read_text()
    import json
    lat = json.loads(lat)
    print(f"wrote {out} (latency {lat['latency_us']} us per image at {lat['clock_mhz']:g} MHz, "
          f"{lat['assumptions']['spike_rate']:g} spike rate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
