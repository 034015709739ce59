"""notebooks/results.ipynb runs top to bottom on a real trained run and writes its figures.

Executed with nbconvert's ExecutePreprocessor in a kernel of this interpreter (jupyter_client
starts the `python3` kernelspec with sys.executable); the parameters go in as environment
variables, which the kernel inherits.
"""
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbconvert")
pytest.importorskip("ipykernel")
from nbconvert.preprocessors import ExecutePreprocessor  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "results.ipynb"
RUN_FIGURES = ["summary", "robustness", "spikes_energy", "bitexact"]
PER_RUN = ["attacks", "activity"]


def execute(monkeypatch, runs: str, figures: Path, hls_project: Path):
    """Run the notebook (plus a cell that reports the kernel's interpreter); return all stdout."""
    monkeypatch.setenv("HIRE_RUNS", runs)
    monkeypatch.setenv("HIRE_FIGURES", str(figures))
    monkeypatch.setenv("HLS_PROJECT", str(hls_project))
    monkeypatch.setenv("MPLBACKEND", "agg")
    monkeypatch.delenv("HIRE_VERIFY_LIMIT", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
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


def test_committed_notebook_is_clean_and_matches_its_generator(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    r = run_cli(str(ROOT / "scripts" / "make_notebook.py"), "--check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_notebook_on_a_run_and_a_run_with_missing_fields(trained_run, tmp_path, monkeypatch):
    run, _ = trained_run
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
    assert_pngs(figures, RUN_FIGURES + [f"{k}_hire" for k in PER_RUN])
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
    lat = json.loads((prj / "latency.json").read_text())
    assert f"latency_us {lat['latency_us']}" in text
