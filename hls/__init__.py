"""The HLS backend: spells the target-neutral design (core.hw) as a Vivado HLS C++ project.

Modules: writer (the design as C++ and Tcl, through Jinja2 templates and the snn_utils kernel
header library), generate (CLI), project (g++ C simulation: HLSProject), csim (C-sim vs the
golden model), synth (Vivado/Vitis HLS when installed). See docs/HLS.md.
"""
from core.errors import GeneratorError

__all__ = ["GeneratorError", "HLSProject", "generate"]


def __getattr__(name):  # keep `import hls` light: numpy/jinja2 load on first use
    if name == "HLSProject":
        from hls.project import HLSProject
        return HLSProject
    if name == "generate":
        from hls.generate import generate
        return generate
    raise AttributeError(name)
