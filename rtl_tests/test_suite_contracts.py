"""Contracts of this suite itself: it drives the hardware flow without train/ or torch (run as
commands when needed), and its cached trained runs follow the code that makes them."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

from rtl_tests.conftest import ROOT, RUN_SOURCES, code_fingerprint, run_folder

FORBIDDEN = ("train", "torch", "quant", "brevitas")


def test_rtl_tests_import_neither_train_nor_torch():
    bad = []
    for f in sorted((ROOT / "rtl_tests").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{f.name}:{node.lineno} {n}" for n in names
                    if n.split(".")[0] in FORBIDDEN]
    assert not bad, bad


def test_cached_runs_are_keyed_by_the_code_that_makes_them(tmp_path):
    """One byte changed in quant/ (say a broken 2-bit export) gives another fingerprint and
    another run folder, so the tests retrain instead of reusing the old run."""
    for d in RUN_SOURCES:
        shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns("__pycache__"))
    same = code_fingerprint(tmp_path)
    assert same == code_fingerprint(ROOT)
    f = tmp_path / "quant" / "export.py"
    f.write_bytes(f.read_bytes() + b"\n")
    changed = code_fingerprint(tmp_path)
    assert changed != same
    assert run_folder("2bit", changed) != run_folder("2bit", same)
    assert run_folder("2bit", same) != run_folder("4bit", same)
    assert run_folder("4bit", same).parent == Path(ROOT / "build" / "test_runs")
