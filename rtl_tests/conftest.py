"""Fixtures of the RTL tests: project folders, cached Verilator builds, small trained runs.

Builds live under build/rtl_sim (HIRE_SNN_RTL_BUILD overrides), keyed by the sources' content,
so reruns and the benchmark reuse them. Trained networks come from the public command
`python train/run.py ...` with small, seeded settings, kept under build/test_runs and reused
while their settings and the code that makes them (train/, quant/, core/) are unchanged; the
tests never import train/ or torch (rtl_tests/test_suite_contracts.py checks).

Exported HLS Verilog: with HIRE_SNN_RTL_DIR=<the Verilog folder `make hls-synth` exported> and
HIRE_SNN_RTL_RUN=<the run folder the HLS project was generated from>, the network and protocol
tests drive that Verilog (same ports, same harness) on that run's network and vectors; the tests
of generated RTL alone (kernels, lint, area, other shapes) are skipped, saying why.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.hw.mapping import design_of
from rtl import writer
from rtl.sim import RTLProject

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "build" / "test_runs"
# the 4-bit run is the tests/ suite's trained run too (tests/conftest.py RUN_FLAGS)
RUN_FLAGS = ["--arch", "fmnist-conv48", "--train-limit", "1500", "--epochs", "1",
             "--test-limit", "300", "--attack-limit", "120", "--blackbox-epochs", "1",
             "--sweep-eps", "8/255,0.1", "--train-eps", "8/255",
             "--no-progress"]  # pinned: fixtures outlive default changes


RUN_SOURCES = ("train", "quant", "core")  # everything that shapes a run's checkpoint, IR, vectors


def code_fingerprint(root: Path = ROOT) -> str:
    """sha256 of the sources that make a trained run (every .py under RUN_SOURCES)."""
    h = hashlib.sha256()
    for d in RUN_SOURCES:
        for f in sorted((root / d).rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def run_folder(quant: str, fingerprint: str) -> Path:
    """Where the cached run of `quant` lives: keyed by its command line and the code's
    fingerprint, so a change to training or export (a broken 2-bit export, say) retrains
    instead of hiding behind an old run."""
    flags = ["--quant", quant, *RUN_FLAGS]
    key = hashlib.sha256(json.dumps([flags, fingerprint]).encode()).hexdigest()[:12]
    return RUNS / f"{quant}-{key}"


def trained_run(quant: str) -> Path:
    """A small seeded run folder (checkpoint, ir/, vectors.npz with 120 clean, FGSM and PGD
    images) made by train/run.py, reused while its command line and code are unchanged."""
    out = run_folder(quant, code_fingerprint())
    if not ((out / "metrics.json").is_file() and (out / "vectors.npz").is_file()
            and (out / "ir" / "model.json").is_file()):
        RUNS.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, str(ROOT / "train" / "run.py"), "--quant", quant,
                            *RUN_FLAGS, "--out", str(out)], cwd=RUNS, capture_output=True,
                           text=True, timeout=1800)
        assert r.returncode == 0, r.stderr[-3000:]
        for old in RUNS.glob(f"{quant}-*"):  # runs of older code: never reused again
            if old != out and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    return out


def cli(module: str, *args, cwd=ROOT):
    """(exit status, last-line JSON or None, the output's tails) of `python -m module args`."""
    p = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd,
                       capture_output=True, text=True, timeout=1200)
    lines = p.stdout.strip().splitlines()
    try:
        last = json.loads(lines[-1]) if lines else None
    except ValueError:
        last = None
    return p.returncode, last, p.stdout[-3000:] + p.stderr[-3000:]


EXPORTED = os.environ.get("HIRE_SNN_RTL_DIR")


def exported_run() -> Path:
    run = os.environ.get("HIRE_SNN_RTL_RUN")
    if not run or not Path(run).is_dir():
        pytest.fail("HIRE_SNN_RTL_DIR is set: set HIRE_SNN_RTL_RUN to the run folder the HLS "
                    "project was generated from (its IR and vectors.npz)")
    return Path(run)


def pytest_collection_modifyitems(config, items):
    if not EXPORTED:
        return
    skip = pytest.mark.skip(reason="HIRE_SNN_RTL_DIR: testing the exported HLS Verilog of one "
                                   "network; this test needs RTL generated here")
    for item in items:
        if "generated_rtl" in item.keywords and "rtl_tests" in str(item.fspath):
            item.add_marker(skip)


def network_project(projects, design, net, run=None):
    """The RTL of `net` (generated here), or the exported Verilog under HIRE_SNN_RTL_DIR."""
    prj = projects(design(net))
    return RTLProject.from_exported(EXPORTED, prj.path, prj.build_root) if EXPORTED else prj


@pytest.fixture(scope="session")
def build_root():
    return Path(os.environ.get("HIRE_SNN_RTL_BUILD") or ROOT / "build" / "rtl_sim")


def _stable(tmp_root: Path, design, tag: str) -> Path:
    return tmp_root / f"{tag}-{design.network.sha256[:10]}"


@pytest.fixture(scope="session")
def projects(tmp_path_factory, build_root):
    """make(design, process=None) -> RTLProject of the whole network or one process."""
    root = tmp_path_factory.mktemp("rtl_projects")
    made = {}

    def make(design, process: str | None = None) -> RTLProject:
        key = (design.network.sha256, json.dumps(design.settings, sort_keys=True), process)
        if key not in made:
            tag = process or "net"
            out = _stable(root, design, f"{tag}-{len(made)}")
            if process is None:
                writer.write(design, out)
            else:
                writer.write_process(design, process, out)
            made[key] = RTLProject(out, build_root)
        return made[key]

    return make


@pytest.fixture(scope="session")
def design():
    """design(net, **overrides) -> core.hw Design with the default settings and overrides."""
    def make(net, **overrides):
        return design_of(net, overrides=overrides or None)
    return make
