"""IR -> HLS project folder (Vivado HLS conventions), the hls/ stage's entry point.

Usage: python -m hls.generate [RUN_OR_IR_DIR] [--out DIR] [--config JSON]

RUN_OR_IR_DIR is a run folder holding ir/ or an IR folder (model.json + weights.npz); default
runs/latest. The network is mapped onto the target-neutral design (core.hw), which this backend
spells as C++; the project goes to --out (default build/hls_prj), replacing it whole only when
generation succeeds. Same IR and settings give byte-identical files.
Exit status: 0 written, 2 an error (missing or invalid IR, unmappable network, bad setting).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.errors import cli, run_cli
from core.hw.mapping import as_network, design_of
from core.runs import DEFAULT_RUN, load_network
from hls import writer

DEFAULT_OUT = Path("build/hls_prj")


def generate(net, out=DEFAULT_OUT, config=None, overrides: dict | None = None,
             weights=None) -> Path:
    """Map a Network (or model.json dict + weights) onto the design, then write the project."""
    design = design_of(as_network(net, weights), config, overrides)
    return writer.write(design, out)


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hls.generate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder (with ir/) or IR folder (default {DEFAULT_RUN})")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help=f"project folder to write (default {DEFAULT_OUT})")
    ap.add_argument("--config", help="hls_config.json with knobs to override (lanes per layer, "
                                     "fifo_depth, clock_mhz, spike_rate, ...; docs/HLS.md)")
    a = ap.parse_args(argv)
    out = generate(load_network(a.src), a.out, a.config)
    lat = json.loads((out / "latency.json").read_text())
    print(f"wrote {out} (latency {lat['latency_us']} us per image, one image every "
          f"{lat['interval_between_images']:g} cycles at {lat['clock_mhz']:g} MHz, "
          f"{lat['assumptions']['spike_rate']:g} spike rate)")
    return 0


if __name__ == "__main__":
    run_cli(main)
