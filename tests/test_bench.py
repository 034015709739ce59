"""bench/run.py (`make bench`): a --quick smoke run and how it merges the parts. No speed figure
is asserted here; the goals are judged in `make bench` only."""
from __future__ import annotations

import importlib.machinery
import json
import sys
import types
from argparse import Namespace

import pytest

from tests.conftest import ROOT, run_cli


def test_quick_run_writes_results_and_ends_with_one_json_line(tmp_path):
    out = tmp_path / "bench"
    r = run_cli(str(ROOT / "bench" / "run.py"), "--quick", "--skip", "hls,rtl", "--out-dir", str(out))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    last = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("qat_over_snntorch", "hire_over_standard", "golden_images_per_s"):
        assert isinstance(last[key], float) and last[key] > 0, key
    assert last["torch_threads"] == 1 and last["quick"] and last["failed_parts"] == []
    assert set(last["ddp"]) == {"1 process x 1 thread", "1 process x 2 threads",
                                "2 processes x 1 thread (gloo)"}
    for name in ("train.json", "golden.json", "summary.json"):
        assert json.loads((out / name).read_text())
    assert "4-bit QAT / float snnTorch" in r.stdout  # the table


def test_bad_skip_is_refused(tmp_path):
    r = run_cli(str(ROOT / "bench" / "run.py"), "--skip", "everything", "--out-dir", str(tmp_path))
    assert r.returncode == 2 and "error:" in r.stderr and "unknown part" in r.stderr


def _fake_rtl(monkeypatch, run):
    mod = types.ModuleType("bench.bench_rtl")
    mod.__spec__ = importlib.machinery.ModuleSpec("bench.bench_rtl", None)
    mod.run = run
    monkeypatch.setitem(sys.modules, "bench.bench_rtl", mod)


def test_rtl_part_is_merged_when_present(tmp_path, monkeypatch):
    from bench import run as bench_run
    seen = {}

    def run(args):
        seen["quick"] = args.quick
        return {"rtl_images_per_s": 12.5, "luts": 9000}

    _fake_rtl(monkeypatch, run)
    res = bench_run.bench_rtl(Namespace(quick=True), tmp_path)
    assert res["rtl_images_per_s"] == 12.5 and res["luts"] == 9000 and seen == {"quick": True}
    assert json.loads((tmp_path / "rtl.json").read_text())["luts"] == 9000


def test_rtl_part_failure_is_reported_not_raised(tmp_path, monkeypatch):
    from bench import run as bench_run

    def run(args):
        raise RuntimeError("verilator exploded")

    _fake_rtl(monkeypatch, run)
    assert bench_run.bench_rtl(Namespace(quick=True), tmp_path) == {
        "error": "RuntimeError: verilator exploded"}


def test_rtl_part_is_skipped_when_absent(tmp_path, monkeypatch):
    from bench import run as bench_run
    monkeypatch.setattr(bench_run.importlib.util, "find_spec", lambda name: None)
    assert "skipped" in bench_run.bench_rtl(Namespace(quick=True), tmp_path)


@pytest.mark.parametrize("ret", [None, [1, 2]])
def test_rtl_part_must_return_a_dict(tmp_path, monkeypatch, ret):
    from bench import run as bench_run
    _fake_rtl(monkeypatch, lambda args: ret)
    assert "not a dict" in bench_run.bench_rtl(Namespace(quick=True), tmp_path)["error"]


def test_robustness_part_times_the_strong_suite(trained_run, tmp_path, monkeypatch):
    """--robustness RUN runs train.robustness (tiny settings under --quick) and reports its time
    and worst cases in the summary; the other parts can be left out."""
    import shutil
    src, _ = trained_run
    run = tmp_path / "run"
    shutil.copytree(src, run)
    out = tmp_path / "bench"
    monkeypatch.setenv("HIRE_SNN_CACHE", str(tmp_path / "cache"))  # the transfer sources
    r = run_cli(str(ROOT / "bench" / "run.py"), "--quick", "--skip", "train,ddp,golden,hls,rtl",
                "--robustness", str(run), "--out-dir", str(out))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rob = json.loads(r.stdout.strip().splitlines()[-1])["robustness"]
    assert rob["images"] == 10 and rob["wall_seconds"] > 0 and rob["cpu_seconds"] > 0
    assert set(rob["worst_case"]) == {f"{8 / 255:.4f}", "0.1000"}
    assert all(0 <= v <= rob["clean"] for v in rob["worst_case"].values())
    assert json.loads((out / "robustness.json").read_text())["images"] == 10
    assert "strong suite, 10 images" in r.stdout
