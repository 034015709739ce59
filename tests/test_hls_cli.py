"""hls.csim on a run folder (IR + vectors.npz) and hls.synth without Vivado."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import fmnist_test

from core import golden
from core.hw.mapping import design_of
from core.random_ir import random_network
from core.runs import load_network, load_vectors
from hls import csim, synth

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A fake run folder as train/run.py leaves one: ir/ and vectors.npz."""
    run = tmp_path_factory.mktemp("run")
    random_network("c8 p2 f32 r", seed=12).save(run / "ir")
    codes, labels = fmnist_test(40)
    fgsm = np.clip(codes.astype(int) + np.random.default_rng(0).integers(-16, 17, codes.shape),
                   0, 255).astype(np.uint8)
    np.savez(run / "vectors.npz", clean=codes, fgsm=fgsm, pgd=255 - codes, labels=labels)
    return run


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("csim_cache"))


def run_cli(args, cwd, cache):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HIRE_SNN_CSIM_CACHE": cache}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


@pytest.mark.parametrize("attack", ["none", "fgsm", "pgd"])
def test_csim_cli_is_bit_exact_on_the_run_vectors(tmp_path, run_dir, cache, attack):
    out = tmp_path / "prj"
    p = run_cli(["hls.csim", str(run_dir), "--n", "25", "--attack", attack, "--out", str(out)],
                tmp_path, cache)
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    assert rep["images"] == 25 and rep["mismatches"] == 0 and rep["bit_exact"] is True
    assert rep["spike_counts_equal"] is True and rep["attack"] == attack
    codes, labels = load_vectors(run_dir, attack, 25)
    want = (golden.predict(load_network(run_dir), codes)[1] == labels).mean()
    assert rep["accuracy"] == round(float(want), 4) and rep["images_per_s"] > 0
    assert rep["model_cycles_per_image"] > rep["model_interval_between_images"] > 0
    assert json.loads((out / "csim_report.json").read_text())["mismatches"] == 0


def test_csim_reuses_the_project_and_binary(tmp_path, run_dir, cache):
    out = tmp_path / "prj"
    csim.run_csim(run_dir, 3, out=out, log=lambda m: None)
    stamp = (out / "firmware/hire_snn.cpp").stat().st_mtime_ns
    rep = csim.run_csim(run_dir, 3, out=out, log=lambda m: None)
    assert rep["bit_exact"] and (out / "firmware/hire_snn.cpp").stat().st_mtime_ns == stamp


def test_csim_rewrites_a_project_of_other_generator_code(tmp_path, run_dir, cache):
    """A project written by other code (a `git pull` since) is regenerated, not reused."""
    out = tmp_path / "prj"
    csim.run_csim(run_dir, 3, out=out, log=lambda m: None)
    mf = out / "project.json"
    manifest = json.loads(mf.read_text())
    fresh = manifest["generator_sha256"]
    mf.write_text(json.dumps({**manifest, "generator_sha256": "0" * 64}))
    stamp = (out / "firmware/hire_snn.cpp").stat().st_mtime_ns
    rep = csim.run_csim(run_dir, 3, out=out, log=lambda m: None)
    assert rep["bit_exact"] and json.loads(mf.read_text())["generator_sha256"] == fresh
    assert (out / "firmware/hire_snn.cpp").stat().st_mtime_ns != stamp


def test_csim_detects_a_mismatch(tmp_path, run_dir, cache, monkeypatch):
    """A project whose threshold differs from the IR's must fail the comparison (exit 1)."""
    out = tmp_path / "prj"
    csim.run_csim(run_dir, 3, out=out, log=lambda m: None)
    params = out / "firmware/parameters.h"
    text = params.read_text()
    th = load_network(run_dir).layers[0].threshold
    params.write_text(text.replace(f"threshold = {th};", f"threshold = {th + 1};", 1))
    monkeypatch.setattr(csim, "project_for", lambda net, o, c=None, codes=None, overrides=None: (
        csim.HLSProject(o), design_of(net, c)))
    monkeypatch.setenv("HIRE_SNN_CSIM_CACHE", cache)
    code = csim.main([str(run_dir), "--n", "20", "--out", str(out)])
    assert code == 1


def no_run(run):
    pass


def ir_only(run):
    random_network("f8 r", seed=1).save(run / "ir")


def vectors_without_pgd(run):
    ir_only(run)
    np.savez(run / "vectors.npz", clean=np.zeros((2, 1, 28, 28), np.uint8), labels=np.zeros(2))


def corrupt_vectors(run):
    ir_only(run)
    (run / "vectors.npz").write_bytes(b"PK\x03\x04 not a zip")


def too_few_vectors(run):
    ir_only(run)
    z = np.zeros((2, 1, 28, 28), np.uint8)
    np.savez(run / "vectors.npz", clean=z, fgsm=z, pgd=z, labels=np.zeros(2, np.int64))


@pytest.mark.parametrize("setup,message", [
    (no_run, "python train/run.py --quant 4bit"),
    (ir_only, "vectors.npz: no test vectors"),
    (vectors_without_pgd, "no array 'pgd'"),
    (corrupt_vectors, "unreadable test vectors"),
    (too_few_vectors, "python -m train.vectors"),
])
def test_csim_clear_errors(tmp_path, cache, setup, message):
    run = tmp_path / "run"
    setup(run)
    p = run_cli(["hls.csim", str(run), "--attack", "pgd", "--n", "5", "--out",
                 str(tmp_path / "prj")], tmp_path, cache)
    assert p.returncode == 2
    assert message in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "prj").exists()


def test_synth_without_vivado_exits_cleanly(tmp_path, run_dir, monkeypatch, capsys):
    from hls.generate import generate
    generate(load_network(run_dir), tmp_path / "prj")
    monkeypatch.setenv("PATH", str(tmp_path / "empty_bin"))
    assert synth.main([str(tmp_path / "prj")]) == 0
    assert "neither vivado_hls nor vitis_hls" in capsys.readouterr().out
    assert synth.main([str(tmp_path / "missing")]) == 2


def test_synth_runs_build_prj_with_the_tool_on_path(tmp_path, run_dir, monkeypatch):
    from hls.generate import generate
    generate(load_network(run_dir), tmp_path / "prj")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "vitis_hls"
    fake.write_text("#!/bin/sh\necho \"$PWD $@\" > \"$(dirname \"$0\")/called\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    assert synth.main([str(tmp_path / "prj"), "--no-cosim"]) == 0
    called = (bindir / "called").read_text()
    assert called.startswith(str(tmp_path / "prj"))
    assert "-f build_prj.tcl reset=1 csim=1 synth=1 cosim=0" in called
