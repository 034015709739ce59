"""The layout shows the flow: one IR, a torch-free core, backends that never import a stage above.

Allowed imports between the project's packages (data flows one way):
    core  -> core                      (the IR, golden model, comparison, target-neutral design)
    quant -> core, quant               (Brevitas QAT side: writes the IR)
    train -> core, quant, train        (training, attacks, energy: writes the run folder)
    hls   -> core, hls                 (HLS backend)
    rtl   -> core, rtl                 (RTL backend)

Inside train, the attack library (train/attacks) sits below what uses it: it imports no other
train module but train.data and the flow's trainer (train.experiment, for the transfer sources),
and it alone imports ART, so every attack lives there and the suite (train.robustness) is
only a suite.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "quant", "train", "hls", "rtl")
ALLOWED = {"core": {"core"}, "quant": {"core", "quant"}, "train": {"core", "quant", "train"},
           "hls": {"core", "hls"}, "rtl": {"core", "rtl"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out & set(PACKAGES) | ({"torch"} if "torch" in out else set())


@pytest.mark.parametrize("pkg", [p for p in PACKAGES if (ROOT / p).is_dir()])
def test_no_module_imports_a_stage_above_it(pkg):
    for path in sorted((ROOT / pkg).rglob("*.py")):
        used = _imports(path) - {"torch"}
        assert used <= ALLOWED[pkg], f"{path.relative_to(ROOT)} imports {sorted(used - ALLOWED[pkg])}"


def _modules(path: Path) -> set[str]:
    """Every module a file imports, by full name, function bodies included."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


ATTACKS_MAY_IMPORT = ("train.attacks", "train.data", "train.experiment")


def test_the_attack_library_is_below_the_suite_and_alone_imports_art():
    for path in sorted((ROOT / "train" / "attacks").rglob("*.py")):
        used = {m for m in _modules(path) if m.startswith("train.")}
        above = {m for m in used if not m.startswith(ATTACKS_MAY_IMPORT)}
        assert not above, f"{path.relative_to(ROOT)} imports {sorted(above)}"
    for pkg in ("train", "quant"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            art = {m for m in _modules(path) if m == "art" or m.startswith("art.")}
            if art:
                assert (ROOT / "train" / "attacks") in path.parents, \
                    f"{path.relative_to(ROOT)} imports {sorted(art)}: attacks live in train/attacks"


@pytest.mark.parametrize("pkg", ["core", "hls", "rtl"])
def test_core_and_backends_do_not_import_torch(pkg):
    if not (ROOT / pkg).is_dir():
        pytest.skip(f"{pkg}/ is not in this checkout")
    for path in sorted((ROOT / pkg).rglob("*.py")):
        assert "torch" not in _imports(path), path


BLOCKED = """
import sys
sys.modules["torch"] = None          # any `import torch` now raises ImportError
import numpy as np
import core, core.compare, core.golden, core.hw.cycles, core.random_ir, core.runs
import hls.csim, hls.generate, hls.project, hls.synth, hls.writer
try:
    import rtl  # the RTL backend, when present
    import rtl.generate
except ModuleNotFoundError as e:
    if e.name != "rtl":
        raise
from core.frames import sample_images
from core.random_ir import random_network
from hls.project import HLSProject
net = random_network("c8 p2 f16 r", seed=3)
p = HLSProject.from_ir(net, sys.argv[1], cache_dir=sys.argv[2])
codes = sample_images(net.in_shape)
r = p.run(codes)
acc, pred = core.golden.predict(net, codes)
assert (r.acc == acc).all() and (r.pred == pred).all()
assert "torch" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
print("torch-free ok")
"""


def test_core_hls_and_rtl_work_with_torch_blocked(tmp_path):
    p = subprocess.run([sys.executable, "-c", BLOCKED, str(tmp_path / "prj"), str(tmp_path / "c")],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "torch-free ok" in p.stdout
