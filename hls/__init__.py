"""IR -> Vivado HLS project (Jinja2 templates + a small kernel header library), g++ C-sim.

Modules: hls_config (knobs), mapping (IR -> stages), latency (analytic model), writer (files),
generate (CLI), project (g++ C simulation: HLSProject), golden_check and csim (C-sim vs the
golden model), synth (Vivado/Vitis HLS when installed). See docs/HLS.md.
"""
from hls.errors import GeneratorError

__all__ = ["GeneratorError", "HLSProject", "generate"]


def __getattr__(name):  # keep `import hls` light: numpy/jinja2 load on first use
    if name == "HLSProject":
        from hls.project import HLSProject
        return HLSProject
    if name == "generate":
        from hls.generate import generate
        return generate
    raise AttributeError(name)
