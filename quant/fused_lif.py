"""A fused C++ kernel for the LIF sequence (and the OR pooling that follows it), CPU float32.

quant/lif.py's `_LIFSequence` writes the T-step recurrence as ~10 tensor ops per timestep; each
one streams the whole (N, C, H, W) membrane through memory, and the OR pooling after it is
another pass (max_pool2d with indices, and its backward). This kernel does one pass per tile of
neurons, the T timesteps in registers, and pools on the fly:

- forward: reads the currents once (only one frame per image with direct input: the current is
  the same every timestep), writes the pooled spikes and the final membrane. Nothing per
  timestep is saved for the backward.
- backward: recomputes the membranes of the tile from the saved currents (cheaper than storing
  and reloading them), then runs the hand-written BPTT of `_LIFSequence` backwards in time. With
  direct input it returns the current's gradient already summed over T.

The arithmetic is the same float32 operations in the same order as the reference (compiled with
-ffp-contract=off, no fast-math), so the forward equals `_LIFSequence` + `F.max_pool2d` to the
bit; the gradient is the same formula (tests/test_fast_lif.py and tests/test_lif.py check both).
The gradient of the threshold is reduced per tile in double and summed in tile order, so results
do not depend on the number of threads.

The C++ is quant/csrc/fused_lif.cpp (a plain source file any C++ tool can read), compiled
once per machine with the local g++ (torch.utils.cpp_extension.load) and
cached under $HIRE_SNN_CACHE or ~/.cache/hire-snn/; the first use prints the compile time.
Where compilation is impossible, quant/lif.py falls back to the pure-torch path.
"""
from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import threading
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "csrc" / "fused_lif.cpp"

CFLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-trapping-math", "-fno-math-errno",
          "-std=c++17"]
SURROGATE_KIND = {"pwl": 0, "fast-sigmoid": 1, "atan": 2}

_lock = threading.Lock()
_state: dict = {"module": None, "error": None, "compile_seconds": None, "loaded": False}


def cache_dir() -> Path:
    base = os.environ.get("HIRE_SNN_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hire-snn"


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


def build_key() -> str:
    """Source, flags, torch version and the CPU's features: -march=native code is not portable."""
    import torch
    h = hashlib.sha256()
    for part in (SOURCE.read_text(), " ".join(CFLAGS), torch.__version__, sys.version, platform.machine(),
                 _cpu_flags()):
        h.update(part.encode())
    return h.hexdigest()[:16]


def load(verbose: bool = True):
    """The compiled module, compiling it on first use; None (and `error()` says why) if impossible."""
    with _lock:
        if _state["loaded"]:
            return _state["module"]
        _state["loaded"] = True
        if os.environ.get("HIRE_SNN_LIF", "").lower() == "torch":
            _state["error"] = "disabled by HIRE_SNN_LIF=torch"
            return None
        if shutil.which(os.environ.get("CXX", "g++")) is None:
            _state["error"] = "no C++ compiler (g++) on PATH"
            return None
        key = build_key()
        build = cache_dir() / f"lif-{key}"
        name = f"hire_snn_lif_{key}"
        fresh = not any(build.glob("*.so"))
        t0 = time.perf_counter()
        if fresh and verbose:
            print(f"hire-snn: compiling the fused LIF kernel once into {build} "
                  "(20-30 s on 2 cores; cached afterwards) ...", file=sys.stderr, flush=True)
        try:
            build.mkdir(parents=True, exist_ok=True)
            from torch.utils.cpp_extension import load as load_extension
            mod = load_extension(name=name, sources=[str(SOURCE)], extra_cflags=CFLAGS,
                                 build_directory=str(build), verbose=False)
        except Exception as e:  # noqa: BLE001 - any build failure means: use the torch path
            _state["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else e}"
            print(f"hire-snn: the fused LIF kernel did not compile ({_state['error']}); "
                  "using the pure-torch LIF (slower, same results)", file=sys.stderr, flush=True)
            return None
        dt = time.perf_counter() - t0
        _state["compile_seconds"] = dt if fresh else 0.0
        _state["load_seconds"] = dt
        if fresh and verbose:
            print(f"hire-snn: fused LIF kernel compiled in {dt:.1f} s", file=sys.stderr, flush=True)
        _state["module"] = mod
        return mod


def info() -> dict:
    """What the run used: for metrics.json and the benchmarks."""
    return {"available": _state["module"] is not None, "error": _state["error"],
            "compile_seconds": _state["compile_seconds"], "load_seconds": _state.get("load_seconds"),
            "cache": str(cache_dir())}


def error() -> str | None:
    return _state["error"]
