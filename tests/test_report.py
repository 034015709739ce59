"""train.report (make report): run folders with robustness.json -> results.md, report.json, PNGs.

One real robustness.json comes from a quick strong suite on the test suite's small run; copies of
that run stand for other seeds and another method (their metrics.json says so, their worst-case
figures are set by the test), so that the grouping and the statistics can be checked exactly.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import run_cli
from train import report as R

PNGS = ["robustness_per_attack", "worst_case_vs_eps", "methods", "energy_vs_robustness",
        "cost_vs_robustness"]


@pytest.fixture(scope="module")
def runs(trained_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("report_runs")
    base = root / "hire-s0"
    shutil.copytree(trained_run[0], base)
    r = run_cli("train.robustness", str(base), "--n", "16", "--offset", "300", "--eps", "8/255",
                "0.1", "--attacks", "pgd,square", "--steps", "3", "--square-queries", "20",
                "--masking-eps", "0.5", "--masking-n", "16", "--no-progress")
    assert r.returncode in (0, 1), r.stderr[-3000:]
    worst = {"hire-s0": None, "hire-s1": (0.5, 0.25), "hire-s2": (0.75, 0.125),
             "std-s0": (0.375, 0.0), "pat-s0": (0.625, 0.375)}
    for name, w in worst.items():
        d = root / name
        if name != "hire-s0":
            shutil.copytree(base, d)
        m = json.loads((d / "metrics.json").read_text())
        m["seed"] = m["config"]["seed"] = int(name[-1])
        if name.startswith("std"):
            m["config"]["method"] = "standard"
        if name.startswith("pat"):  # adversarial training: 8 passes per update, 4x the time
            m["config"].update(method="pgd-at", at_steps=7, at_step=2.5 / 7)
            m["train_seconds_per_epoch"] = [4 * s for s in m["train_seconds_per_epoch"]]
        (d / "metrics.json").write_text(json.dumps(m))
        if w is not None:
            rob = json.loads((d / "robustness.json").read_text())
            for res, v in zip(rob["results"], w):
                res["worst_case"] = v
            (d / "robustness.json").write_text(json.dumps(rob))
    (root / "no-suite").mkdir()
    shutil.copy(base / "metrics.json", root / "no-suite" / "metrics.json")
    return root


def test_groups_and_statistics(runs):
    res = R.build([runs])
    assert len(res["runs"]) == 5  # no-suite has no robustness.json
    groups = res["summary"]["groups"]
    assert [g["label"] for g in groups] == ["HIRE", "standard", "PGD-AT"]
    hire = groups[0]
    assert hire["seeds"] == [0, 1, 2]
    w0 = json.loads((runs / "hire-s0" / "robustness.json").read_text())["results"]
    for i, e in enumerate(res["summary"]["eps"]):
        vals = [w0[i]["worst_case"], (0.5, 0.25)[i], (0.75, 0.125)[i]]
        s = hire["eps"][e]["worst_case"]
        assert s["n"] == 3 and s["mean"] == pytest.approx(np.mean(vals))
        assert s["std"] == pytest.approx(np.std(vals, ddof=1))
        assert s["min"] == min(vals) and s["max"] == max(vals)
    assert groups[1]["eps"][res["summary"]["eps"][1]]["worst_case"]["mean"] == 0.0
    assert "| HIRE | 0,1,2 | 8 |" in res["markdown"] and " ± " in res["markdown"]
    # the cost-robustness figure: one point per group at (s per epoch, worst case at 0.1) means
    fig = R.fig_cost(res["summary"])
    pts = [c.lines[0].get_xydata()[0].tolist() for c in fig.axes[0].containers]
    e = res["summary"]["eps"][-1]
    assert pts == [[g["train_s_per_epoch"]["mean"], g["eps"][e]["worst_case"]["mean"]]
                   for g in groups]
    assert pts[2][0] == pytest.approx(4 * pts[1][0], rel=1e-6) and pts[2][1] == 0.375
    # with the methods' benchmarked cost instead of each run's own clock
    costs = {"methods": {"hire": {"seconds_per_60k_epoch": 50.0},
                         "standard": {"seconds_per_60k_epoch": 40.0},
                         "pgd-at": {"seconds_per_60k_epoch": 270.0}}}
    fig = R.fig_cost(res["summary"], costs)
    pts = [c.lines[0].get_xydata()[0].tolist() for c in fig.axes[0].containers]
    assert [p[0] for p in pts] == [50.0, 40.0, 270.0]


def test_adversarial_training_budgets_are_separate_groups(runs, tmp_path):
    """FGSM-AT / PGD-AT at two training budgets are two groups, labelled by the budget."""
    for name, eps in (("pat-s0", None), ("pat16-s0", 16 / 255)):
        shutil.copytree(runs / "pat-s0", tmp_path / name)
        if eps is not None:
            m = json.loads((tmp_path / name / "metrics.json").read_text())
            m["config"]["train_eps"] = eps
            (tmp_path / name / "metrics.json").write_text(json.dumps(m))
    groups = R.build([tmp_path])["summary"]["groups"]
    assert sorted(g["label"] for g in groups) == ["PGD-AT, eps 16/255", "PGD-AT, eps 8/255"]


def test_labels_name_what_differs():
    a = {"method": "hire", "encoding": "direct", "train_eps": 8 / 255, "periods": 2}
    b = {**a, "train_eps": 0.1}
    assert R.label(a, ["train_eps"]) == "HIRE, eps 8/255"
    assert R.label(b, ["train_eps"]) == "HIRE, eps 0.1"
    assert R.label({"method": "standard", "encoding": "rate", "timesteps": 32},
                   ["encoding", "timesteps"]) == "rate-coded (standard), T=32"
    assert R.label({**a, "leak_shift": [1, 2]}, ["leak_shift"]) == "HIRE, leak 0.5/0.75"
    assert R.label({**a, "leak_shift": 3}, ["leak_shift"]) == "HIRE, leak 0.875"
    at = {"method": "pgd-at", "encoding": "direct", "at_steps": 7, "at_step": 2.5 / 7}
    assert R.label(at, ["method", "at_steps", "at_step"]) == "PGD-AT, 7 steps, step 0.357 eps"
    assert R.label({**at, "method": "fgsm-at"}, ["method"]) == "FGSM-AT"


def test_cli_writes_table_json_and_figures(runs, tmp_path):
    out = tmp_path / "report"
    r = run_cli("train.report", str(runs), "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert last["runs"] == 5 and last["groups"] == ["HIRE", "standard", "PGD-AT"]
    md = (out / "results.md").read_text()
    assert md.splitlines()[0].startswith("Accuracy in %") and "worst case 8/255" in md
    rep = json.loads((out / "report.json").read_text())
    assert [g["label"] for g in rep["groups"]] == ["HIRE", "standard", "PGD-AT"]
    for name in PNGS:
        p = out / f"{name}.png"
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


def test_cli_without_runs(tmp_path):
    r = run_cli("train.report", str(tmp_path), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and r.stderr.startswith("error:") and "train.robustness" in r.stderr
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_costs_file_that_is_not_a_methods_benchmark(runs, tmp_path):
    bad = tmp_path / "costs.json"
    bad.write_text(json.dumps({"qat_over_snntorch": 1.7}))
    r = run_cli("train.report", str(runs), "--out", str(tmp_path / "out"), "--costs", str(bad))
    assert r.returncode == 2 and "bench_train.py --methods" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
