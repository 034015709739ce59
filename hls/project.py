"""C simulation of a generated project with g++: an hls4ml-like API.

    p = HLSProject("build/hls_prj")
    p.compile()                       # g++ -O2, cached by the sources' content hash
    acc, pred = p.predict(codes)      # codes: uint8 (N, C, H, W)
    r = p.run(codes)                  # + per spike map and timestep slice / spike counts

The binary is the project's own test bench (tb_hire_snn.cpp) built against the ap_types headers
inside the installed hls4ml package, so what is simulated is exactly the C++ Vivado HLS would
synthesize. Compiled binaries live in a cache keyed by the hash of every source file and the
compiler command, so regenerating an identical project does not recompile.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core.errors import ToolError
from core.compare import BackendRun
from core.frames import codes_text

CXX = os.environ.get("CXX", "g++")
# HIRE_SNN_NO_AP_AXI: Vivado's ap_axi_sdata.h is not available, use snn_common.h's mirror of it;
# HIRE_SNN_INT_WEIGHTS: weight tables as plain integers (see firmware/weights/*.h).
CXXFLAGS = ["-std=c++14", "-O2", "-Wno-int-in-bool-context", "-Wno-unknown-pragmas",
            "-DHIRE_SNN_NO_AP_AXI", "-DHIRE_SNN_INT_WEIGHTS"]


class CSimError(ToolError):
    """g++ or the compiled test bench failed (or the ap_types headers are missing)."""


def ap_types_dir() -> Path:
    """hls4ml/templates/vivado/ap_types of the installed hls4ml (never copied into the repo)."""
    import hls4ml
    d = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    if not (d / "ap_int.h").is_file():
        raise CSimError(f"ap_types headers not found at {d} (is hls4ml 1.3 installed?)")
    return d


def default_cache_dir() -> Path:
    env = os.environ.get("HIRE_SNN_CSIM_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "hire-snn" / "csim"


class HLSProject:
    """A generated project folder; compile() builds its C simulation, predict() runs it."""

    def __init__(self, path, cache_dir=None, defines=()):
        """defines: extra -D macros for the C simulation (e.g. SNN_EMULATE_RAM_LATENCY)."""
        self.path = Path(path)
        self.flags = [*CXXFLAGS, *(f"-D{d}" for d in defines)]
        mf = self.path / "project.json"
        if not mf.is_file():
            raise CSimError(f"{self.path}: not a generated HLS project (no project.json); "
                            "run `python -m hls.generate` first")
        self.manifest = json.loads(mf.read_text())
        self.top = self.manifest["top"]
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.binary: Path | None = None

    @classmethod
    def from_ir(cls, net, out, config=None, overrides=None, cache_dir=None, defines=()):
        """Generate a project for a Network, then open it."""
        from hls.generate import generate
        generate(net, out, config, overrides)
        return cls(out, cache_dir, defines)

    # -- build ----------------------------------------------------------------------------
    def sources(self) -> list[Path]:
        fw = sorted(p for p in (self.path / "firmware").rglob("*") if p.is_file())
        return fw + [self.path / f"tb_{self.top}.cpp"]

    def source_hash(self) -> str:
        h = hashlib.sha256()
        version = subprocess.run([CXX, "--version"], capture_output=True, text=True).stdout
        h.update(" ".join([CXX, *self.flags, version, str(ap_types_dir())]).encode())
        for p in self.sources():
            h.update(str(p.relative_to(self.path)).encode() + b"\0")
            h.update(p.read_bytes())
        return h.hexdigest()

    def _precompiled_header(self) -> list[str]:
        """-include flags for a precompiled ap_int.h + hls_stream.h (saves ~0.7 s a compile).

        Built once per cache, compiler and flags; g++ falls back to the plain headers if the
        .gch does not fit, so this can only make compiles faster, never different.
        """
        version = subprocess.run([CXX, "--version"], capture_output=True, text=True).stdout
        tag = hashlib.sha256(" ".join([CXX, *CXXFLAGS, version, str(ap_types_dir())]).encode())
        d = self.cache_dir / f"pch-{tag.hexdigest()[:16]}"
        header, gch = d / "hire_snn_pch.h", d / "hire_snn_pch.h.gch"
        if not gch.is_file():
            d.mkdir(parents=True, exist_ok=True)
            header.write_text('#include "ap_int.h"\n#include "hls_stream.h"\n')
            tmp = d / f".gch.{os.getpid()}.tmp"
            p = subprocess.run([CXX, *CXXFLAGS, "-I", str(ap_types_dir()), "-x", "c++-header",
                                str(header), "-o", str(tmp)], capture_output=True, text=True)
            if p.returncode:
                tmp.unlink(missing_ok=True)
                return []
            os.replace(tmp, gch)
        return ["-I", str(d), "-include", header.name]

    def compile(self) -> Path:
        """Build the test bench with g++ (or reuse the cached binary of identical sources)."""
        key = self.source_hash()
        binary = self.cache_dir / key[:32] / f"tb_{self.top}"
        if not binary.is_file():
            binary.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=binary.parent) as tmp:
                inc = [*self._precompiled_header(), "-I", str(ap_types_dir()), "-I", str(self.path)]
                units = [self.path / "firmware" / f"{self.top}.cpp", self.path / f"tb_{self.top}.cpp"]
                objs = [Path(tmp) / f"{u.stem}.o" for u in units]
                with ThreadPoolExecutor(len(units)) as ex:  # the two units in parallel
                    procs = list(ex.map(lambda uo: subprocess.run(
                        [CXX, *self.flags, *inc, "-c", str(uo[0]), "-o", str(uo[1])],
                        capture_output=True, text=True), zip(units, objs)))
                for p in procs:
                    if p.returncode:
                        raise CSimError(f"g++ failed:\n{p.stderr[-4000:]}")
                tmp_bin = Path(tmp) / binary.name
                p = subprocess.run([CXX, *map(str, objs), "-o", str(tmp_bin)],
                                   capture_output=True, text=True)
                if p.returncode:
                    raise CSimError(f"link failed:\n{p.stderr[-4000:]}")
                os.replace(tmp_bin, binary)
        self.binary = binary
        return binary

    # -- run ------------------------------------------------------------------------------
    def run(self, codes: np.ndarray, trace: bool = True) -> BackendRun:
        """Run the test bench on uint8 codes (N, C, H, W), one well-formed frame per image."""
        codes = np.asarray(codes)
        shape = tuple(self.manifest["input_shape"])
        if codes.dtype != np.uint8 or codes.ndim != 4 or codes.shape[1:] != shape or not len(codes):
            raise ValueError(f"codes must be uint8 of shape (N >= 1, {', '.join(map(str, shape))}), "
                             f"got {codes.dtype} {codes.shape}")
        return self.run_frames(list(codes.reshape(len(codes), -1)), trace)

    def run_frames(self, frames, trace: bool = True, aborts=None, resets=()) -> BackendRun:
        """Run the test bench on frames of any length (1-D uint8 arrays; TLAST on each frame's
        last code): a frame of the wrong length is malformed (core.frames).

        C simulation of ap_rst_n (tb_hire_snn.cpp): aborts {frame index: K} cuts those frames off
        at the start of timestep K (1..T) in every process, without a result (the result arrays
        hold the other frames, in order); resets: frame indices before which ap_rst_n comes.
        """
        if not len(frames) or any(len(f) == 0 for f in frames):
            raise ValueError("need at least one frame, and no empty frame")
        aborts = dict(aborts or {})
        classes, T = self.manifest["classes"], self.manifest["timesteps"]
        if (not set(aborts) <= set(range(len(frames)))
                or any(not 1 <= t <= T for t in aborts.values())):
            raise ValueError(f"aborts: frame index -> timestep 1..{T}, got {aborts}")
        if self.binary is None:
            self.compile()
        n = len(frames) - len(aborts)
        k = len(self.manifest["trace_streams"])
        lines = codes_text(frames).splitlines(keepends=True)
        text = "".join(("reset\n" if i in resets else "")
                       + (f"abort {aborts[i]}\n" if i in aborts else "") + line
                       for i, line in enumerate(lines))
        with tempfile.TemporaryDirectory(prefix="hire_snn_csim_") as tmp:
            tmp = Path(tmp)
            (tmp / "in.dat").write_text(text)
            args = [str(self.binary), str(tmp / "in.dat"), str(tmp / "out.dat"),
                    str(tmp / "trace.dat") if trace else "-", "-"]
            t0 = time.perf_counter()
            p = subprocess.run(args, capture_output=True, text=True, cwd=self.path)
            seconds = time.perf_counter() - t0
            if p.returncode:
                raise CSimError(f"test bench failed ({p.returncode}):\n{p.stderr[-4000:]}")
            out = _read_ints(tmp / "out.dat", n, classes + 1)
            tr = _read_ints(tmp / "trace.dat", n, 2 * k * T) if trace else None
        slices = spikes = None
        if tr is not None:
            tr = tr.reshape(n, k, 2, T)
            slices, spikes = tr[:, :, 0, :], tr[:, :, 1, :]
        return BackendRun.from_words(out, slices=slices, spikes=spikes, seconds=seconds)

    def predict(self, codes: np.ndarray):
        """(acc int64 (N, classes), pred (N,)) of the C simulation."""
        r = self.run(codes, trace=False)
        return r.acc, r.pred


def _read_ints(path: Path, rows: int, cols: int) -> np.ndarray:
    text = path.read_text()
    arr = np.array(text.split(), dtype=np.int64) if text.strip() else np.zeros(0, np.int64)
    if arr.size != rows * cols:
        raise CSimError(f"{path.name}: expected {rows} x {cols} numbers, got {arr.size}")
    return arr.reshape(rows, cols)


def clear_cache(cache_dir=None) -> None:
    shutil.rmtree(Path(cache_dir) if cache_dir else default_cache_dir(), ignore_errors=True)
