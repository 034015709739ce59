"""Shared fixtures: real Fashion-MNIST test images as 8-bit codes, and IRs of random models.

Random (untrained) models with a low threshold spike densely, which exercises every path of
the integer semantics; trained-run fixtures live beside the tests that need them.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

FMNIST_DIRS = [os.environ.get("FASHION_MNIST_DIR", ""), "data/fashion-mnist",
               "/usr/share/datasets/fashion-mnist"]


def _fmnist_file(name: str) -> Path:
    for d in FMNIST_DIRS:
        p = Path(d) / name
        if d and p.is_file():
            return p
    pytest.fail("Fashion-MNIST not found: `apt-get install -y dataset-fashion-mnist` "
                "(or set FASHION_MNIST_DIR)")


def fmnist_test(n: int) -> tuple[np.ndarray, np.ndarray]:
    """First n Fashion-MNIST test images as uint8 codes (n, 1, 28, 28) and their labels."""
    with gzip.open(_fmnist_file("t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    with gzip.open(_fmnist_file("t10k-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    # pixel p in 0..255 means p/255; the 8-bit input quantizer maps that to round(p/255*256)
    codes = np.clip(np.round(x.astype(np.float32) / 255.0 * 256.0), 0, 255).astype(np.uint8)
    return codes, y.astype(np.int64)


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """One torch thread: two intra-op threads on a shared 2-core machine spin against each other."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def fmnist_codes():
    return fmnist_test(256)


def random_model(quant="4bit", seed=0, v_th=0.3, timesteps=8, layers=None, in_shape=(1, 28, 28),
                 leak_shift=3):
    """An untrained QuantSNN with seeded random weights (dense spiking at v_th=0.3)."""
    import torch
    from quant.model import ModelConfig, QuantSNN
    torch.manual_seed(seed)
    cfg = ModelConfig(quant=quant, v_th=v_th, timesteps=timesteps, in_shape=in_shape,
                      layers=list(layers or ["c16", "p2", "c32", "p2", "r"]), leak_shift=leak_shift)
    return QuantSNN(cfg).eval()


def random_ir(**kw):
    """(model.json dict, weights dict) of random_model(**kw)."""
    from quant.export import to_ir
    return to_ir(random_model(**kw))


ROOT = Path(__file__).resolve().parent.parent
RUN_FLAGS = ["--quant", "4bit", "--arch", "fmnist-conv48", "--train-limit", "1500", "--epochs", "1",
             "--test-limit", "300", "--attack-limit", "120", "--blackbox-epochs", "1",
             "--sweep-eps", "8/255,0.1", "--train-eps", "8/255",
             "--no-progress"]  # pinned: fixtures outlive default changes


def run_cli(module_or_script, *args, cwd=ROOT, timeout=600):
    cmd = [sys.executable, *(["-m", module_or_script] if "." in module_or_script and
                              not module_or_script.endswith(".py") else [module_or_script]), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("flow")  # cwd: its runs/latest link stays out of the checkout
    out = work / "run"
    r = run_cli(str(ROOT / "train" / "run.py"), *RUN_FLAGS, "--out", str(out), cwd=work)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r.stdout
