"""Simulation of an RTL project folder through cocotb and Verilator: cached builds, bulk streaming
through the tb_stream harness, and cocotb test modules on the bare top.

Why this shape:
- The runner (rtl/verilator.py) makes only the ports Python touches public, not every signal.
- A cocotb-driven clock wakes Python every cycle (a few hundred thousand cycles/s at best). Bulk
  runs (hundreds to thousands of images) therefore use rtl/hdl/tb/tb_stream.sv, whose clock,
  stimulus and capture live in the simulation; Python exchanges files with it and sleeps until
  `done`. Protocol tests that need cocotbext-axi use the bare top with cocotb's Clock ("axis").
- Builds take tens of seconds; every (sources' content, top, parameters, flavour, flags) gets its
  own folder under the build root, built once under a file lock, so reruns and parallel pytest
  processes reuse it and never corrupt it.
- Every simulation runs with the project folder as working directory: the RTL reads its weights
  with `$readmemh("weights/...")` relative to it.

Environment: HIRE_SNN_RTL_BUILD (build root, default build/rtl_sim in the repository),
HIRE_SNN_RTL_JOBS (make -j, default 2), HIRE_SNN_RTL_DIR (Verilog exported by Vivado HLS; see
RTLProject.from_env), HIRE_SNN_RTL_KEEP=1 (keep run folders even on success).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from core.compare import BackendRun
from core.errors import RunError, ToolError
from rtl.variants import sources_for
from rtl.verilator import (DEFAULT_BUILD_ROOT, SPEED_ARGS, TIMING_ARGS, RTLSimError,
                           check_verilator, failures_of, file_lock, find_verilator, log_tail,
                           make_runner, parse_results_xml, ports_vlt, raise_if_stopped,
                           tool_versions)

RTL_DIR = Path(__file__).resolve().parent
REPO = RTL_DIR.parent
HARNESS = RTL_DIR / "hdl" / "tb" / "tb_stream.sv"
STREAM_TEST_MODULE = "_cocotb_stream"        # rtl/_cocotb_stream.py, imported from RTL_DIR
PROJECT_FORMAT = "hire-snn-rtl-project"
MARKER = ".hire_snn_build.json"

FLAVOURS = ("stream", "axis")

# tb_stream's capacity (its MAX_IN / MAX_OUT parameters): larger stream() calls are split into
# several runs inside one simulation.
MAX_IN = 1 << 20
MAX_OUT = 1 << 17
STREAM_PORTS = ("start", "reset", "n_in", "n_out", "drain_cycles", "max_cycles", "max_idle",
                "gaps_en", "seed", "infile", "outfile", "incycfile", "outcycfile", "done",
                "timed_out", "words_in", "words_out", "words_extra", "run_cycles", "cycle")
AXIS_PORTS = ("ap_*", "s_axis_*", "m_axis_*")
FILE_PORTS = {"infile": "in", "outfile": "out", "incycfile": "incyc", "outcycfile": "outcyc"}

# default cycle budgets of a run (see RTLProject.stream_words)
DEFAULT_IDLE_CYCLES = 2_000_000




# ---- tools -------------------------------------------------------------------------------------









# ---- small helpers ------------------------------------------------------------------------------











@contextlib.contextmanager
def _run_folder(build_root: Path, prefix: str):
    """A fresh folder under build_root/runs for one simulation's files. Removed on success;
    on failure only its sim.log stays (named in the error); HIRE_SNN_RTL_KEEP=1 keeps all."""
    parent = build_root / "runs"
    parent.mkdir(parents=True, exist_ok=True)
    rundir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    keep = os.environ.get("HIRE_SNN_RTL_KEEP") == "1"
    try:
        yield rundir
    except BaseException:
        if not keep:
            for f in rundir.iterdir():
                if f.name != "sim.log":
                    f.unlink()
        raise
    if not keep:
        shutil.rmtree(rundir, ignore_errors=True)






def hex_lines(words, width: int) -> bytes:
    """Words (< 2**width) as $readmemh text: one zero-padded hex word a line."""
    d = (width + 3) // 4
    arr = np.asarray(words)
    if arr.size == 0:
        return b""
    if width > 64 or arr.dtype == object:
        vals = [int(w) for w in arr.ravel()]
        if min(vals) < 0 or max(vals) >> width:
            raise ValueError(f"a word does not fit in {width} bits")
        return "".join(f"{v:0{d}x}\n" for v in vals).encode()
    if arr.dtype.kind not in "ui" or (arr.dtype.kind == "i" and arr.min() < 0):
        raise ValueError(f"words must be non-negative integers, got {arr.dtype}")
    w = arr.ravel().astype(np.uint64)
    if width < 64 and int(w.max()) >> width:
        raise ValueError(f"a word does not fit in {width} bits")
    shifts = (np.arange(d - 1, -1, -1, dtype=np.uint64) * np.uint64(4))[None, :]
    digits = ((w[:, None] >> shifts) & np.uint64(15)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[digits]
    nl = np.full((w.size, 1), ord("\n"), dtype=np.uint8)
    return np.concatenate([chars, nl], axis=1).tobytes()


def read_hex(path: Path, count: int, width: int) -> np.ndarray:
    """$writememh output -> uint64 array (object array of ints when width > 64)."""
    if count == 0:
        return np.zeros(0, dtype=object if width > 64 else np.uint64)
    text = Path(path).read_text()
    if "//" in text or "@" in text:         # comments or address marks: the general reader
        toks = [t for line in text.splitlines()
                for t in line.split("//")[0].split() if not t.startswith("@")]
    else:
        toks = text.split()
    if len(toks) != count:
        raise ToolError(f"{path}: {len(toks)} words, expected {count}")
    if width > 64:
        return np.array([int(t, 16) for t in toks], dtype=object)
    d = len(toks[0])
    if d <= 16 and all(len(t) == d for t in toks):
        raw = np.frombuffer("".join(toks).lower().encode(), dtype=np.uint8).reshape(count, d)
        lut = np.zeros(256, dtype=np.uint64)
        lut[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint64)
        vals = lut[raw]
        out = np.zeros(count, dtype=np.uint64)
        for k in range(d):
            out = (out << np.uint64(4)) | vals[:, k]
        return out
    return np.array([int(t, 16) for t in toks], dtype=np.uint64)




def load_project(path) -> dict:
    """project.json of an RTL project folder, checked for the keys this module uses."""
    f = Path(path) / "project.json"
    if not f.is_file():
        raise RunError(f"{path}: no project.json; write the RTL project first "
                       "(rtl/writer.py, e.g. `python -m rtl.generate RUN --out build/rtl_prj`)")
    try:
        meta = json.loads(f.read_text())
    except json.JSONDecodeError as e:
        raise RunError(f"{f}: not valid JSON ({e})") from e
    if meta.get("format") != PROJECT_FORMAT:
        raise RunError(f"{f}: format is {meta.get('format')!r}, expected {PROJECT_FORMAT!r}")
    for key in ("top", "sources", "dut_top"):
        if key not in meta:
            raise RunError(f"{f}: missing key {key!r}")
    for s in [*meta["sources"], meta["dut_top"]]:
        if not (Path(path) / s).is_file():
            raise RunError(f"{f}: source {s} does not exist in {path}")
    return meta


# ---- results -----------------------------------------------------------------------------------

@dataclasses.dataclass
class StreamResult:
    """What tb_stream saw of N frames through hire_snn (cycles count from each run's start; runs
    that split a long call are laid end to end)."""

    words: np.ndarray            # (N, classes+1) uint32 TDATA of each result
    last: np.ndarray             # (N, classes+1) bool TLAST (checked: only on each last word)
    in_first_cycle: np.ndarray   # (N,) cycle of each frame's first input handshake
    out_last_cycle: np.ndarray   # (N,) cycle of each result's last output handshake
    in_cycles: np.ndarray        # every input handshake's cycle
    out_cycles: np.ndarray       # every output handshake's cycle
    cycles: int                  # simulated cycles, all runs
    seconds: float               # wall time inside the simulator, start to done, all runs
    wall_seconds: float          # the whole call: files, simulator start-up, parsing (no build)

    @property
    def images_per_second(self) -> float:
        return len(self.words) / self.seconds if self.seconds > 0 else float("inf")

    @property
    def latency_cycles(self) -> np.ndarray:
        return self.out_last_cycle - self.in_first_cycle

    def run(self) -> BackendRun:
        """The backends' common result (core.compare) of these words and cycles."""
        return BackendRun.from_words(self.words, seconds=self.seconds,
                                     done_cycle=self.out_last_cycle)


@dataclasses.dataclass
class _Run:
    words: np.ndarray
    n_out: int
    gaps: bool
    seed: int
    max_cycles: int
    max_idle: int
    drain_cycles: int
    reset: bool = False


@dataclasses.dataclass
class _BuildSpec:
    flavour: str
    top: str
    sources: list[Path]
    parameters: dict
    args: list[str]
    vlt: str

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([self.flavour, self.top, sorted(self.parameters.items()), self.args,
                             self.vlt, tool_versions()]).encode())
        for s in self.sources:
            h.update(s.name.encode() + b"\0" + hashlib.sha256(s.read_bytes()).digest())
        return h.hexdigest()


# ---- the project -------------------------------------------------------------------------------

class RTLProject:
    """An RTL project folder (project.json + hdl/ + weights/) ready to simulate.

    `workdir` is the simulations' working directory (the folder the RTL's relative $readmemh
    paths start from): the project folder, or the exported folder for Vivado HLS Verilog.
    """

    def __init__(self, path, build_root=None, variant: str | None = None):
        self.path = Path(path).resolve()
        self.meta = load_project(self.path)
        self.top: str = self.meta["top"]
        # variant: an FPGA family whose library variants (rtl.variants) are simulated in place
        # of the generic modules, on the behavioural models of its primitives
        self.sources: list[Path] = [self.path / s for s in
                                    sources_for(self.meta, variant, sim=True, root=self.path)]
        self.dut_top: Path = self.path / self.meta["dut_top"]
        self.workdir: Path = self.path
        self.in_w = int(self.meta.get("in_w", 9))
        self.out_w = int(self.meta.get("out_w", 33))
        self.classes = self.meta.get("classes")
        root = build_root or os.environ.get("HIRE_SNN_RTL_BUILD") or DEFAULT_BUILD_ROOT
        self.build_root = Path(root).resolve()
        self.last_build_seconds = 0.0

    @classmethod
    def from_exported(cls, folder, like, build_root=None, workdir=None) -> RTLProject:
        """Verilog exported by Vivado HLS (every *.v / *.sv in `folder`, top `hire_snn` with the
        same ports) in place of the project's own sources; `like` gives the metadata and the
        dut_top adapter. Simulations run in `workdir` (default `folder`, where Vivado puts the
        ROM .dat files its $readmemh calls name)."""
        prj = cls(like, build_root)
        folder = Path(folder).resolve()
        files = sorted(f for f in folder.iterdir()
                       if f.suffix in (".v", ".sv") and f.name != prj.dut_top.name)
        if not files:
            raise RunError(f"{folder}: no *.v or *.sv files (HIRE_SNN_RTL_DIR should name the "
                           "exported Verilog folder, e.g. "
                           "PROJECT/hire_snn_prj/solution1/impl/verilog)")
        prj.sources = files
        prj.workdir = Path(workdir).resolve() if workdir else folder
        return prj

    @classmethod
    def from_env(cls, path, build_root=None) -> RTLProject:
        """The project at `path`, or, when HIRE_SNN_RTL_DIR is set, the exported Verilog there
        with `path`'s metadata."""
        exported = os.environ.get("HIRE_SNN_RTL_DIR")
        if exported:
            return cls.from_exported(exported, path, build_root)
        return cls(path, build_root)

    # ---- builds ----------------------------------------------------------------------------

    def _spec(self, flavour: str) -> _BuildSpec:
        if flavour == "stream":
            return _BuildSpec(flavour, "tb_stream", [*self.sources, self.dut_top, HARNESS],
                              {"IN_W": self.in_w, "OUT_W": self.out_w,
                               "MAX_IN": MAX_IN, "MAX_OUT": MAX_OUT},
                              SPEED_ARGS + TIMING_ARGS, ports_vlt("tb_stream", STREAM_PORTS))
        if flavour == "axis":
            return _BuildSpec(flavour, self.top, list(self.sources), {},
                              SPEED_ARGS + ["--no-timing"], ports_vlt(self.top, AXIS_PORTS))
        raise ValueError(f"unknown flavour {flavour!r}; one of {FLAVOURS}")

    def build_dir(self, flavour: str = "stream") -> Path:
        """The folder `flavour` builds into (a hash of everything that changes the model)."""
        return self._build_dir(self._spec(flavour))

    def _build_dir(self, spec: _BuildSpec) -> Path:
        return self.build_root / f"{spec.flavour}-{spec.top}-{spec.digest()[:16]}"

    def build(self, flavour: str = "stream") -> Path:
        """Build (once) and return the build folder of `flavour`: "stream" (tb_stream around
        dut_top, HDL clock) or "axis" (the bare top, for cocotb's Clock and cocotbext-axi)."""
        spec = self._spec(flavour)
        bdir = self._build_dir(spec)
        if (bdir / MARKER).is_file():
            self.last_build_seconds = 0.0
            return bdir
        with file_lock(self.build_root / f".{bdir.name}.lock"):
            if (bdir / MARKER).is_file():
                self.last_build_seconds = 0.0
                return bdir
            check_verilator(find_verilator())
            shutil.rmtree(bdir, ignore_errors=True)
            bdir.mkdir(parents=True)
            vlt = bdir / "ports.vlt"
            vlt.write_text(spec.vlt)
            log = bdir / "build.log"
            t0 = time.perf_counter()
            try:
                make_runner().build(sources=[vlt, *spec.sources], hdl_toplevel=spec.top,
                                    parameters=spec.parameters, build_args=spec.args,
                                    build_dir=bdir, timescale=("1ns", "1ps"), log_file=log)
            except (RuntimeError, SystemExit) as e:
                raise ToolError(f"Verilator build of {spec.top} ({flavour}) from {self.path} "
                                f"failed ({e}); log {log}:\n{log_tail(log)}") from None
            self.last_build_seconds = time.perf_counter() - t0
            (bdir / MARKER).write_text(json.dumps({
                "flavour": flavour, "top": spec.top, "parameters": spec.parameters,
                "sources": [str(s) for s in spec.sources], "args": spec.args,
                "seconds": round(self.last_build_seconds, 2)}, indent=1))
        return bdir

    # ---- running cocotb --------------------------------------------------------------------

    def _test(self, bdir: Path, top: str, module: str, pythonpath, rundir: Path,
              testcase=None, extra_env=None) -> tuple[list[str], list[str]]:
        """Run one cocotb test module against a built model; (test names, failed names)."""
        env = {"HIRE_SNN_RTL_PROJECT": str(self.path),
               "HIRE_SNN_RTL_PROJECT_JSON": str(self.path / "project.json"),
               "HIRE_SNN_RTL_WORKDIR": str(self.workdir),
               **(extra_env or {})}
        xml, log = rundir / "results.xml", rundir / "sim.log"
        try:
            make_runner(pythonpath).test(test_module=module, hdl_toplevel=top, build_dir=bdir,
                                         hdl_toplevel_lang="verilog",
                                         test_dir=self.workdir, results_xml=str(xml),
                                         testcase=testcase, extra_env=env, log_file=log)
        except (RuntimeError, SystemExit) as e:
            if not xml.is_file():
                raise_if_stopped(log)
                raise ToolError(f"simulation of {top} ({module}) failed ({e}) without results; "
                                f"log {log}:\n{log_tail(log)}") from None
        if not xml.is_file():
            raise ToolError(f"simulation of {top} ({module}) wrote no {xml}; log {log}:\n"
                            f"{log_tail(log)}")
        return parse_results_xml(xml)

    def run_cocotb(self, test_module, testcase=None, extra_env=None,
                   flavour: str = "axis") -> list[str]:
        """Build `flavour` and run a cocotb test module (a name importable from rtl_tests/ or the
        repository, or a path to a .py file) with the workdir as test_dir. Raises RTLSimError
        naming the failed tests (the run folder with sim.log is kept then); returns the names
        of the tests that ran."""
        bdir = self.build(flavour)
        top = self._spec(flavour).top
        path = Path(str(test_module))
        if path.suffix == ".py":
            module, extra_path = path.stem, [path.resolve().parent]
        else:
            module, extra_path = str(test_module), []
        pythonpath = [*extra_path, REPO / "rtl_tests", REPO, RTL_DIR]
        with _run_folder(self.build_root, f"cocotb-{module.replace('.', '_')}-") as rundir:
            names, failed = self._test(bdir, top, module, pythonpath, rundir, testcase,
                                       extra_env)
            log = rundir / "sim.log"
            if not names:
                raise RTLSimError(f"cocotb ran no test from {module}"
                                  f"{f' matching {testcase}' if testcase else ''}; log {log}:\n"
                                  f"{log_tail(log)}")
            if failed:
                raise RTLSimError(f"{len(failed)} of {len(names)} cocotb tests failed: "
                                  f"{', '.join(failed)}; log {log}:\n{failures_of(log)}")
        return names

    # ---- bulk streaming --------------------------------------------------------------------

    def _simulate(self, runs: list[_Run]) -> list[dict]:
        """Run tb_stream over `runs` in one simulation: per run its counts plus the received
        words and handshake cycles (numpy arrays)."""
        for r in runs:
            if r.words.size > MAX_IN or r.n_out > MAX_OUT:
                raise ValueError(f"a run of {r.words.size} input / {r.n_out} output words exceeds "
                                 f"tb_stream's MAX_IN={MAX_IN} / MAX_OUT={MAX_OUT}")
        bdir = self.build("stream")
        with _run_folder(self.build_root, "stream-") as rundir:
            manifest = {"runs": [], "result": str(rundir / "result.json")}
            for i, r in enumerate(runs):
                (rundir / f"in{i}.hex").write_bytes(hex_lines(r.words, self.in_w))
                manifest["runs"].append({
                    "n_in": int(r.words.size), "n_out": int(r.n_out), "gaps": bool(r.gaps),
                    "seed": int(r.seed) & 0xFFFFFFFF, "max_cycles": int(r.max_cycles),
                    "max_idle": int(r.max_idle), "drain_cycles": int(r.drain_cycles),
                    "reset": bool(r.reset),
                    **{port: str(rundir / f"{stem}{i}.hex") for port, stem in FILE_PORTS.items()},
                })
            (rundir / "manifest.json").write_text(json.dumps(manifest, indent=1))
            names, failed = self._test(bdir, "tb_stream", STREAM_TEST_MODULE, [RTL_DIR], rundir,
                                       extra_env={"HIRE_SNN_STREAM_MANIFEST":
                                                  str(rundir / "manifest.json")})
            log = rundir / "sim.log"
            try:
                recs = json.loads((rundir / "result.json").read_text())["runs"]
            except (OSError, json.JSONDecodeError, KeyError):
                recs = []
            if failed and not recs:
                raise_if_stopped(log)
                raise ToolError(f"tb_stream simulation failed before finishing a run; log {log}:\n"
                                f"{log_tail(log)}")
            out = []
            for i, rec in enumerate(recs):
                m = manifest["runs"][i]
                rec["out"] = read_hex(Path(m["outfile"]), rec["words_out"], self.out_w)
                rec["out_cycles"] = read_hex(Path(m["outcycfile"]), rec["words_out"], 64)
                rec["in_cycles"] = read_hex(Path(m["incycfile"]), rec["words_in"], 64)
                rec.update(n_in=m["n_in"], n_out=m["n_out"])
                out.append(rec)
            self._check_runs(out, runs, log)
        return out

    @staticmethod
    def _check_runs(recs: list[dict], runs: list[_Run], log: Path) -> None:
        if len(recs) < len(runs) and (not recs or not recs[-1]["timed_out"]):
            raise ToolError(f"tb_stream finished {len(recs)} of {len(runs)} runs; log {log}:\n"
                            f"{log_tail(log)}")
        for i, (rec, run) in enumerate(zip(recs, runs)):
            where = f"run {i + 1}/{len(runs)}: " if len(runs) > 1 else ""
            if rec["timed_out"]:
                last = max([int(c) for c in (rec["in_cycles"][-1:].tolist()
                                             + rec["out_cycles"][-1:].tolist())], default=None)
                raise RTLSimError(
                    f"{where}RTL simulation timed out after {rec['run_cycles']} cycles (budget "
                    f"{run.max_cycles or 'none'}, idle limit {run.max_idle or 'none'}): received "
                    f"{rec['words_out']} of {rec['n_out']} output words, the DUT took "
                    f"{rec['words_in']} of {rec['n_in']} input words, last handshake at cycle "
                    f"{last}. A deadlock, or raise timeout_cycles / idle_cycles.")
            if rec["words_extra"]:
                raise RTLSimError(f"{where}the DUT sent {rec['words_extra']} output words beyond "
                                  f"the {rec['n_out']} expected")
            if rec["words_in"] != rec["n_in"]:
                raise RTLSimError(f"{where}all {rec['n_out']} output words arrived but the DUT "
                                  f"took only {rec['words_in']} of {rec['n_in']} input words")

    @staticmethod
    def _budget(n_in: int, n_out: int, timeout_cycles, idle_cycles) -> tuple[int, int]:
        total = timeout_cycles if timeout_cycles is not None else \
            1_000_000 + 100 * n_in + 100_000 * n_out
        idle = idle_cycles if idle_cycles is not None else DEFAULT_IDLE_CYCLES
        return int(total), int(idle)

    def stream_words(self, in_words, n_out: int, gaps: bool = False, seed: int = 1,
                     timeout_cycles: int | None = None, idle_cycles: int | None = None,
                     drain_cycles: int = 0):
        """Token level: `in_words` (uint64, or Python ints in an object array when IN_W > 64)
        through dut_top; returns (out_words, in_cycles, out_cycles) where out_words has n_out
        words (uint64, or object when OUT_W > 64) and the cycles are each handshake's cycle.

        Budgets: the run fails (RTLSimError, naming the counts so far) after `timeout_cycles`
        (default 1M + 100 per input word + 100k per output word) or after `idle_cycles`
        (default 2M) without any handshake; 0 disables either. With drain_cycles > 0 the
        harness keeps accepting that long after the last expected word and fails on extras."""
        words = np.asarray(in_words).ravel()
        if self.in_w > 64 and words.dtype != object:
            words = words.astype(object)
        total, idle = self._budget(words.size, n_out, timeout_cycles, idle_cycles)
        rec = self._simulate([_Run(words, int(n_out), gaps, seed, total, idle, drain_cycles)])[0]
        return rec["out"], rec["in_cycles"].astype(np.int64), rec["out_cycles"].astype(np.int64)

    def stream(self, frames, gaps: bool = False, seed: int = 1,
               timeout_cycles: int | None = None, idle_cycles: int | None = None,
               drain_cycles: int = 0, alone: bool = False) -> StreamResult:
        """Frames (1-D uint8 code arrays of any non-zero length, TLAST on each one's last beat)
        through hire_snn via dut_top ({TLAST, TDATA} tokens); one result of classes+1 words per
        frame. Calls larger than tb_stream's capacity run as several back-to-back runs (each
        with the budgets of stream_words, per run). With alone=True every frame is a run of
        its own, started when the previous one is done (its latency without overlap)."""
        if self.classes is None:
            raise RunError(f"{self.path / 'project.json'}: no 'classes'; stream() needs it "
                           "(stream_words works without)")
        t0 = time.perf_counter()
        k1 = int(self.classes) + 1
        frames = [np.asarray(f).ravel() for f in frames]
        if not frames:
            raise ValueError("stream() needs at least one frame")
        for i, f in enumerate(frames):
            if f.size == 0:
                raise ValueError(f"frame {i} is empty (a frame needs at least its TLAST beat)")
            if f.dtype.kind not in "ui" or f.min() < 0 or f.max() > 255:
                raise ValueError(f"frame {i}: codes must be integers 0..255")
        # alone: each frame in its own run (the pipeline empty before it: latency of one image)
        runs, groups = [], ([(i, i + 1) for i in range(len(frames))] if alone
                            else _chunk([f.size for f in frames], k1))
        for lo, hi in groups:
            data = np.concatenate(frames[lo:hi]).astype(np.uint64)
            last = np.zeros(data.size, dtype=np.uint64)
            last[np.cumsum([f.size for f in frames[lo:hi]]) - 1] = 1
            n_out = (hi - lo) * k1
            total, idle = self._budget(data.size, n_out, timeout_cycles, idle_cycles)
            runs.append(_Run(data | (last << np.uint64(8)), n_out, gaps, seed + lo, total, idle,
                             drain_cycles))
        recs = self._simulate(runs)
        return _assemble(frames, groups, recs, k1, time.perf_counter() - t0)


def _chunk(lengths: list[int], k1: int) -> list[tuple[int, int]]:
    """Split frames into consecutive groups that fit tb_stream's MAX_IN / MAX_OUT."""
    groups, lo, n_in = [], 0, 0
    for i, n in enumerate(lengths):
        if n > MAX_IN:
            raise ValueError(f"frame {i} has {n} beats, more than tb_stream's MAX_IN={MAX_IN}")
        if i > lo and (n_in + n > MAX_IN or (i - lo + 1) * k1 > MAX_OUT):
            groups.append((lo, i))
            lo, n_in = i, 0
        n_in += n
    groups.append((lo, len(lengths)))
    return groups


def _assemble(frames, groups, recs, k1: int, wall: float) -> StreamResult:
    words, last, first_c, last_c, inc, outc = [], [], [], [], [], []
    offset = 0
    for (lo, hi), rec in zip(groups, recs):
        out = rec["out"].astype(np.uint64).reshape(hi - lo, k1)
        words.append((out & np.uint64(0xFFFFFFFF)).astype(np.uint32))
        last.append(((out >> np.uint64(32)) & np.uint64(1)).astype(bool))
        ic = rec["in_cycles"].astype(np.int64) + offset
        oc = rec["out_cycles"].astype(np.int64) + offset
        starts = np.concatenate([[0], np.cumsum([f.size for f in frames[lo:hi]])[:-1]])
        first_c.append(ic[starts])
        last_c.append(oc.reshape(hi - lo, k1)[:, -1])
        inc.append(ic)
        outc.append(oc)
        offset += int(rec["run_cycles"])
    words_a, last_a = np.concatenate(words), np.concatenate(last)
    expect = np.zeros_like(last_a)
    expect[:, -1] = True
    bad = np.flatnonzero((last_a != expect).any(axis=1))
    if bad.size:
        i = int(bad[0])
        raise RTLSimError(f"TLAST misplaced in {bad.size} of {len(last_a)} results; result {i} "
                          f"has TLAST on word(s) {np.flatnonzero(last_a[i]).tolist()}, expected "
                          f"only on word {k1 - 1}")
    return StreamResult(words_a, last_a, np.concatenate(first_c), np.concatenate(last_c),
                        np.concatenate(inc), np.concatenate(outc), offset,
                        float(sum(r["seconds"] for r in recs)), wall)


def run_cocotb(project, test_module, testcase=None, extra_env=None, flavour: str = "axis",
               build_root=None) -> list[str]:
    """Module-level shortcut: RTLProject.from_env(project).run_cocotb(...)."""
    prj = project if isinstance(project, RTLProject) else RTLProject.from_env(project, build_root)
    return prj.run_cocotb(test_module, testcase, extra_env, flavour)
