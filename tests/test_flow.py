"""End to end through public commands: a small trained run, its outputs, and verification.

The run is made by the same command a user types (train/run.py with small limits), so the
fixture documents how to reproduce it.
"""
import json
import shutil

import numpy as np
import pytest

from tests.conftest import ROOT, RUN_FLAGS, run_cli


def test_run_writes_the_hand_off(trained_run):
    out, stdout = trained_run
    m = json.loads((out / "metrics.json").read_text())
    for key in ("config", "seed", "clean_acc", "fgsm_acc", "pgd_acc", "eps", "sweep", "spike_rates",
                "energy_pj_per_image", "train_seconds_per_epoch", "blackbox"):
        assert key in m
    assert {(r["attack"], round(r["eps"], 6)) for r in m["sweep"]} == \
        {(a, round(e, 6)) for a in ("fgsm", "pgd") for e in (8 / 255, 0.1)}
    assert m["clean_acc"] > 0.5  # one small epoch is far above chance (0.1)
    assert m["pgd_acc"] <= m["clean_acc"]
    with np.load(out / "vectors.npz") as z:
        assert z["clean"].dtype == np.uint8 and z["clean"].shape == (120, 1, 28, 28)
        assert not np.array_equal(z["clean"], z["pgd"])
        diff = np.abs(z["pgd"].astype(int) - z["clean"].astype(int)).max()
        assert diff <= np.ceil(8 / 255 * 256) + 1  # eps in pixels, plus one code of rounding
    assert (out / "ir" / "model.json").is_file() and (out / "checkpoint.pt").is_file()
    assert "clean acc" in stdout and "PGD" in stdout
    # the default leak reaches the hardware per layer: 0.5 where the pixels drive, 0.75 after
    ir = json.loads((out / "ir" / "model.json").read_text())
    assert [L["leak_shift"] for L in ir["layers"] if "leak_shift" in L] == [1, 2]


@pytest.mark.parametrize("attack", ["none", "fgsm", "pgd"])
def test_verify_is_bit_exact_on_saved_vectors(trained_run, attack):
    out, _ = trained_run
    r = run_cli("quant.verify", str(out), "--attack", attack, "--no-progress")
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["images"] == 120
    assert res["prediction_agreement"] == res["accumulator_agreement"] == res["spike_agreement"] == 1.0


def test_more_vectors_come_from_the_training_stage(trained_run, tmp_path):
    """quant.verify never imports train/: asking for more images than saved names the command
    that makes them, and after it ran, verify uses them."""
    out, _ = trained_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    r = run_cli("quant.verify", str(run), "--test-limit", "200", "--attack", "fgsm", "--no-progress")
    assert r.returncode == 2 and "python -m train.vectors" in r.stderr
    r = run_cli("train.vectors", str(run), "--n", "200", "--no-progress")
    assert r.returncode == 0, r.stderr[-2000:]
    with np.load(run / "vectors.npz") as z, np.load(out / "vectors.npz") as z0:
        assert z["pgd"].shape == (200, 1, 28, 28)
        assert np.array_equal(z["clean"][:120], z0["clean"])   # the same images, more of them
    r = run_cli("quant.verify", str(run), "--test-limit", "200", "--attack", "fgsm", "--no-progress")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["images"] == 200


def test_export_cli_reproduces_the_run_ir(trained_run, tmp_path):
    out, _ = trained_run
    r = run_cli("quant.export", str(out / "checkpoint.pt"), "--out", str(tmp_path / "ir"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ir" / "model.json").read_text() == (out / "ir" / "model.json").read_text()


def test_corrupt_checkpoint_is_refused_cleanly(trained_run, tmp_path):
    out, _ = trained_run
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes((out / "checkpoint.pt").read_bytes()[:5000])
    r = run_cli("quant.export", str(bad), "--out", str(tmp_path / "ir"))
    assert r.returncode == 2 and "corrupt or truncated" in r.stderr
    assert not (tmp_path / "ir").exists()
    bad.write_bytes(b"not a checkpoint at all")
    r = run_cli("quant.verify", str(tmp_path))
    assert r.returncode == 2 and "checkpoint" in r.stderr


def test_same_seed_same_metrics(trained_run, tmp_path):
    out, _ = trained_run
    flags = list(RUN_FLAGS)
    r = run_cli(str(ROOT / "train" / "run.py"), *flags, "--blackbox-epochs", "0",
                "--out", str(tmp_path / "again"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    a = json.loads((out / "metrics.json").read_text())
    b = json.loads((tmp_path / "again" / "metrics.json").read_text())
    for key in ("clean_acc", "fgsm_acc", "pgd_acc", "sweep", "spike_rates"):
        assert a[key] == b[key]
    with np.load(out / "vectors.npz") as za, np.load(tmp_path / "again" / "vectors.npz") as zb:
        assert all(np.array_equal(za[k], zb[k]) for k in ("clean", "fgsm", "pgd"))


@pytest.mark.parametrize("attack", ["none", "fgsm", "pgd"])
def test_hls_csim_is_bit_exact_on_the_trained_run(trained_run, tmp_path, attack):
    out, _ = trained_run
    r = run_cli("hls.csim", str(out), "--n", "120", "--attack", attack, "--out", str(tmp_path / "prj"))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["images"] == 120 and res["mismatches"] == 0 and res["bit_exact"] is True
