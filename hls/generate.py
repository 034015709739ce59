"""IR -> HLS project folder (Vivado HLS conventions), the hls/ stage's entry point.

Usage: python -m hls.generate [RUN_OR_IR_DIR] [--out DIR] [--config JSON]

RUN_OR_IR_DIR is a run folder holding ir/ or an IR folder (model.json + weights.npz); default
runs/latest. The network is mapped onto the target-neutral design (core.hw), which this backend
spells as C++; the project goes to --out (default build/hls_prj), replacing it whole only when
generation succeeds. Same IR and settings give byte-identical files.
Exit status: 0 written, 2 an error (missing or invalid IR, unmappable network, bad setting).
"""
from __future__ import annotations

from pathlib import Path

from core.errors import cli, run_cli
from core.hw import backend
from hls import writer

DEFAULT_OUT = Path("build/hls_prj")


def generate(net, out=DEFAULT_OUT, config=None, overrides: dict | None = None,
             weights=None) -> Path:
    """Map a Network (or model.json dict + weights) onto the design, then write the project."""
    return backend.generate(writer.write, net, out, config, overrides, weights)


@cli
def main(argv=None) -> int:
    return backend.generate_main(argv, "python -m hls.generate", __doc__, DEFAULT_OUT,
                                 writer.write, "cycle model")


if __name__ == "__main__":
    run_cli(main)
