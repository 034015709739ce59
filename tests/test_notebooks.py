"""The results notebook runs top to bottom on a real trained run and writes its figures.

Its source is notebooks/results.py, a jupytext percent script; jupytext turns it into a notebook
here, executed with nbconvert's ExecutePreprocessor in a kernel of this interpreter
(jupyter_client starts the `python3` kernelspec with sys.executable); the parameters go in as
environment variables, which the kernel inherits.
"""
import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")
pytest.importorskip("nbconvert")
pytest.importorskip("ipykernel")
from nbconvert.preprocessors import ExecutePreprocessor  # noqa: E402

SOURCE = ROOT / "notebooks" / "results.py"
RUN_FIGURES = ["summary", "robustness", "spikes_energy", "bitexact"]
REPORT_FIGURES = ["robustness_per_attack", "worst_case_vs_eps", "methods", "energy_vs_robustness"]
PER_RUN = ["attacks", "activity"]


def execute(monkeypatch, runs: str, figures: Path, hls_project: Path):
    """Run the notebook (plus a cell that reports the kernel's interpreter); return all stdout."""
    monkeypatch.setenv("HIRE_RUNS", runs)
    monkeypatch.setenv("HIRE_FIGURES", str(figures))
    monkeypatch.setenv("HLS_PROJECT", str(hls_project))
    monkeypatch.setenv("MPLBACKEND", "agg")
    monkeypatch.delenv("HIRE_VERIFY_LIMIT", raising=False)
    nb = jupytext.read(SOURCE)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print('KERNEL', sys.executable)"))
    ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(
        nb, {"metadata": {"path": str(ROOT / "notebooks")}})  # raises CellExecutionError on error
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert f"KERNEL {sys.executable}" in text
    return text


def assert_pngs(folder: Path, names):
    for name in names:
        p = folder / f"{name}.png"
        assert p.is_file(), f"{name}.png not written; have {sorted(x.name for x in folder.iterdir())}"
        assert p.stat().st_size > 5000, f"{name}.png is nearly empty"
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def suite_run(trained_run, tmp_path_factory):
    """A copy of the small run with a robustness.json from a quick strong suite (no transfer)."""
    run = tmp_path_factory.mktemp("suite") / "hire"
    shutil.copytree(trained_run[0], run)
    r = run_cli("train.robustness", str(run), "--n", "16", "--offset", "300", "--eps", "8/255",
                "0.1", "--attacks", "pgd,square", "--steps", "3", "--square-queries", "20",
                "--masking-eps", "--no-progress")
    assert r.returncode in (0, 1), r.stderr[-3000:]
    assert (run / "robustness.json").is_file()
    return run


def test_source_is_a_canonical_percent_script():
    """notebooks/results.py is what jupytext writes for its own notebook (no outputs to strip,
    nothing hand-formatted that a round trip would change), and a valid notebook."""
    nb = jupytext.read(SOURCE)
    nbformat.validate(nb)
    assert len(nb.cells) > 10 and nb.cells[0].cell_type == "markdown"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    text = SOURCE.read_text()
    again = jupytext.writes(nb, fmt="py:percent")
    strip = lambda t: [ln for ln in t.splitlines() if "jupytext_version:" not in ln]  # noqa: E731
    assert strip(again) == strip(text)
    assert not (ROOT / "scripts" / "make_notebook.py").exists()


def test_notebook_on_a_run_and_a_run_with_missing_fields(trained_run, suite_run, tmp_path,
                                                         monkeypatch):
    run = suite_run
    # a run folder with only metrics.json, no black-box and no sweep (like a float run)
    bare = tmp_path / "bare"
    bare.mkdir()
    m = json.loads((run / "metrics.json").read_text())
    m["blackbox"] = None
    del m["sweep"]
    (bare / "metrics.json").write_text(json.dumps(m))
    figures = tmp_path / "figures"
    text = execute(monkeypatch, f"hire={run},bare={bare},gone={tmp_path / 'nope'}", figures,
                   tmp_path / "no_such_project")
    assert_pngs(figures, RUN_FIGURES + REPORT_FIGURES + [f"{k}_hire" for k in PER_RUN])
    rob = json.loads((run / "robustness.json").read_text())
    for e in rob["results"]:  # the strong suite's worst case, from the run folder
        assert f"eps {e['eps']:.4f} worst case {e['worst_case']:.4f} over 1 run(s)" in text
    assert not (figures / "hardware.png").exists() and not (figures / "attacks_bare.png").exists()
    assert "no HLS project at" in text and "gone:" in text and "does not exist" in text
    assert "bare: no vectors.npz" in text
    for s in ("clean", "fgsm", "pgd"):  # the bit-exactness counts: every image agrees
        n = m["attack_images"]
        assert f"{s}: {n} images, prediction {n}/{n}, accumulator {n}/{n}, spikes {n}/{n}" in text


def test_notebook_with_an_hls_project(trained_run, tmp_path, monkeypatch):
    run, _ = trained_run
    prj = tmp_path / "prj"
    r = run_cli("hls.generate", str(run), "--out", str(prj))
    assert r.returncode == 0, r.stderr
    figures = tmp_path / "figures"
    text = execute(monkeypatch, f"test run={run}", figures, prj)
    assert_pngs(figures, RUN_FIGURES + [f"{k}_test_run" for k in PER_RUN] + ["hardware"])
    assert "no run folder with robustness.json" in text
    assert not (figures / "methods.png").exists()
    lat = json.loads((prj / "latency.json").read_text())
    assert f"latency_us {lat['latency_us']}" in text
