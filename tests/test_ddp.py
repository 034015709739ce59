"""Scale-out: `torchrun --nproc_per_node 2 train/run.py ...` on CPU (gloo).

Two processes train on a small subset; rank 0 alone writes the run folder, whose IR is bit-exact
with the QAT model (quant.verify), and the same seed gives the same weights when repeated.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT, run_cli

FLAGS = ["--quant", "4bit", "--train-limit", "384", "--epochs", "1", "--test-limit", "64",
         "--attack-limit", "24", "--blackbox-epochs", "0", "--sweep-eps", "8/255", "--no-progress"]


def torchrun(*args, cwd, nproc=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", str(ROOT / "train" / "run.py"), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("ddp")
    outs = []
    for i in range(2):
        out = work / f"run{i}"
        r = torchrun(*FLAGS, "--seed", "3", "--out", str(out), cwd=work)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
        outs.append((out, r))
    return outs


def test_two_processes_write_one_valid_run_folder(ddp_runs):
    out, r = ddp_runs[0]
    for name in ("checkpoint.pt", "metrics.json", "vectors.npz", "ir/model.json", "ir/weights.npz"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["distributed"] == {"world_size": 2, "backend": "gloo", "effective_batch": 128,
                                "per_process_batch": 64}
    assert m["train_images"] == 384 and m["attack_images"] == 24 and m["ir"]["exported"]
    assert r.stdout.count("metrics: ") == 1  # the summary is printed once, by rank 0
    assert not list(out.glob(".*tmp*"))  # atomic writes left nothing behind


def test_the_ddp_run_is_bit_exact_with_the_golden_model(ddp_runs):
    out, _ = ddp_runs[0]
    r = run_cli("quant.verify", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["images"] == 24
    assert res["prediction_agreement"] == res["accumulator_agreement"] == res["spike_agreement"] == 1.0


def test_same_seed_same_weights(ddp_runs):
    (a, _), (b, _) = ddp_runs
    sa = torch.load(a / "checkpoint.pt", weights_only=True)["state_dict"]
    sb = torch.load(b / "checkpoint.pt", weights_only=True)["state_dict"]
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert (a / "ir" / "weights.npz").read_bytes() == (b / "ir" / "weights.npz").read_bytes()


def test_torchrun_needs_an_explicit_run_folder(tmp_path):
    r = torchrun(*FLAGS, cwd=tmp_path)
    assert r.returncode != 0 and "error: under torchrun pass --out DIR" in r.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_training_is_bit_exact(tmp_path):
    """--device cuda: training on the GPU (TF32 off) still exports an IR the QAT model matches."""
    out = tmp_path / "run"
    r = run_cli(str(ROOT / "train" / "run.py"), *FLAGS, "--device", "cuda", "--out", str(out),
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["device"].startswith("cuda")
    v = run_cli("quant.verify", str(out), "--no-progress")
    assert v.returncode == 0, v.stderr[-2000:]
