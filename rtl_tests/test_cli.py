"""The RTL command lines end to end, as a user runs them: `python -m rtl.generate`,
`python -m rtl.simulate` (after the hardware attack of `python -m train.robustness --hardware`,
run as a command: rtl_tests import neither train/ nor torch) and `python -m rtl.synth`
(tests/test_lint_and_area.py). Exit status 0 done or bit-exact, 1 a mismatch, 2 an error; the
last line printed is one JSON object.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from rtl_tests.conftest import cli, trained_run

from core import golden
from core.network import Network
from core.runs import load_vectors

pytestmark = pytest.mark.generated_rtl  # plants a bug in generated weights

SIM_KEYS = {"images", "mismatches", "bit_exact", "accuracy", "golden_accuracy",
            "cycles_per_image", "interval_between_images", "model_cycles_per_image",
            "model_interval_between_images", "images_per_second", "latency_us", "clock_mhz"}


def test_generate_attack_simulate_and_a_planted_mismatch(tmp_path):
    """generate (0) -> the hardware Square on the golden model -> simulate its codes on the RTL
    (0, the RTL's accuracy under that attack is the golden model's) -> a weights file edited
    after generation (1, mismatches reported) -> a missing or corrupt run (2)."""
    run = tmp_path / "run"
    shutil.copytree(trained_run("4bit"), run)
    prj = tmp_path / "prj"

    rc, gen, out = cli("rtl.generate", run, "--out", prj)
    assert rc == 0, out
    assert {"project", "ir_sha256", "generator_sha256", "latency_us"} <= set(gen)
    assert json.loads((prj / "project.json").read_text())["ir_sha256"] == gen["ir_sha256"]

    rc, rob, out = cli("train.robustness", run, "--attacks", "none", "--masking-eps", "--n", 1,
                       "--hardware", "--hw-eps", "0.1", "--hw-queries", 20, "--no-progress")
    assert rc == 0, out
    hw = rob["hardware"]
    assert hw["qat_equals_golden"] and hw["golden_accuracy"] < hw["clean_accuracy"]

    rc, sim, out = cli("rtl.simulate", run, "--attack", "hw_square", "--n", 40, "--out", prj,
                       "--alone", 1)
    assert rc == 0, out
    assert SIM_KEYS <= set(sim) and sim["bit_exact"] and sim["mismatches"] == 0
    codes, labels = load_vectors(run, "hw_square", 40)
    want = (golden.predict(Network.load(run), codes)[1] == labels).mean()
    assert sim["images"] == 40 and sim["accuracy"] == round(float(want), 4)
    assert json.loads((prj / "rtl_sim_report.json").read_text()) == sim

    # every readout weight moved by one LSB after generation: the project is still "current"
    # (same IR, settings and generator), so the simulation runs the edited ROM and must say so
    rom = prj / "weights" / "w_readout.hex"
    words = rom.read_text().split()
    rom.write_text("\n".join(format(int(w, 16) ^ 1, f"0{len(w)}x") for w in words) + "\n")
    rc, bad, out = cli("rtl.simulate", run, "--n", 8, "--out", prj, "--alone", 1)
    assert rc == 1, out
    assert bad["bit_exact"] is False and 0 < bad["mismatches"] <= 8
    assert "mismatch image" in out

    # a missing run, a corrupt vectors file, a corrupt IR: 2, an error line naming the file
    rc, _, out = cli("rtl.simulate", tmp_path / "nope", "--out", prj)
    assert rc == 2 and "error:" in out
    (run / "vectors.npz").write_bytes(b"not an npz")
    rc, _, out = cli("rtl.simulate", run, "--out", prj)
    assert rc == 2 and "vectors.npz" in out
    (run / "ir" / "model.json").write_text("{")
    rc, _, out = cli("rtl.generate", run, "--out", tmp_path / "prj2")
    assert rc == 2 and "model.json" in out and not (tmp_path / "prj2").exists()


def test_synth_cli_errors(tmp_path):
    rc, _, out = cli("rtl.synth", tmp_path / "nope")
    assert rc == 2 and "no such RTL project" in out
    np.save(tmp_path / "x.npy", np.zeros(1))  # a folder without project.json
    rc, _, out = cli("rtl.synth", tmp_path)
    assert rc == 2 and "project.json" in out
