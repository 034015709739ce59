"""IR -> RTL project folder (SystemVerilog for Verilator and Yosys), the RTL backend's entry point.

Usage: python -m rtl.generate [RUN_OR_IR_DIR] [--out DIR] [--config JSON]

RUN_OR_IR_DIR is a run folder holding ir/ or an IR folder; default runs/latest. The network is
mapped onto the same target-neutral design as the HLS backend (core.hw) and written to --out
(default build/rtl_prj), replacing it whole only when generation succeeds.
Exit status: 0 written, 2 an error (missing or invalid IR, unmappable network, bad setting).
"""
from __future__ import annotations

from pathlib import Path

from core.errors import cli, run_cli
from core.hw import backend
from rtl import writer

DEFAULT_OUT = Path("build/rtl_prj")


def generate(net, out=DEFAULT_OUT, config=None, overrides: dict | None = None,
             weights=None) -> Path:
    """Map a Network (or model.json dict + weights) onto the design, then write the project."""
    return backend.generate(writer.write, net, out, config, overrides, weights)


@cli
def main(argv=None) -> int:
    return backend.generate_main(argv, "python -m rtl.generate", __doc__, DEFAULT_OUT,
                                 writer.write, "cycle model")


if __name__ == "__main__":
    run_cli(main)
