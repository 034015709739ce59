"""Bring your own model, end to end as a user runs it: a network built and trained briefly in
snnTorch and written with its export_to_nir (`python -m train.snntorch_model`), imported and
fine-tuned one epoch with HIRE (`train/run.py --init-from`), exported to the IR, and the RTL
equal to the golden model on 50 images. Commands only: rtl_tests import neither train/ nor torch.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rtl_tests.conftest import ROOT, cli

pytestmark = pytest.mark.generated_rtl

ARCH = "c4,p2,c8,p2,r"  # small, so the Verilator build and the training stay seconds


def _run(*args, cwd):
    r = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                       timeout=1200)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r.stdout


def test_an_snntorch_model_reaches_bit_exact_rtl(tmp_path):
    model = tmp_path / "snntorch.nir"
    made = json.loads(_run("-m", "train.snntorch_model", "--arch", ARCH, "--epochs", 2, "--train-limit", 1024,
                "--test-limit", 200, "--out", model, "--no-progress", "--threads", 1, cwd=ROOT).splitlines()[-1])
    assert made["layers"] == ARCH.split(",") and model.is_file()

    run = tmp_path / "run"
    rc, _, out = cli("quant.nir", "inspect", model)  # NIR's LIF resets to zero: refused ...
    assert rc == 2 and "--nir-reset subtract" in out
    _run(ROOT / "train" / "run.py", "--init-from", model, "--nir-reset", "subtract",
         "--method", "hire", "--epochs", 1, "--train-limit", 1000, "--test-limit", 200,
         "--attack-limit", 50, "--blackbox-epochs", 0, "--sweep-eps", "0.1", "--no-progress",
         "--threads", 1, "--out", run, cwd=tmp_path)  # ... unless asked for
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model"]["layers"] == ARCH.split(",")
    assert metrics["init_from"]["leak_shift"] == [1, 2]  # snnTorch's beta 0.5 / 0.75, unmoved
    assert json.loads((run / "ir" / "model.json").read_text())["source"]["arch"] == "nir"

    rc, sim, out = cli("rtl.simulate", run, "--n", 50, "--out", tmp_path / "prj", "--alone", 1)
    assert rc == 0, out
    assert sim["images"] == 50 and sim["bit_exact"] and sim["mismatches"] == 0
