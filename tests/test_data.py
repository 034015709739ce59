"""train.data: real Fashion-MNIST (Debian package path) and scikit-learn digits; error paths."""
from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from train import data

SYS = Path(data.FMNIST_SYSTEM_DIR)
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.fixture(scope="module")
def sysdir():
    if not all((SYS / f).is_file() for f in FILES):
        pytest.fail(f"Fashion-MNIST missing from {SYS}: `{data.FMNIST_APT}`")
    return SYS


def _raw_test_images(n):
    with gzip.open(SYS / "t10k-images-idx3-ubyte.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16)[: n * 784].reshape(n, 1, 28, 28)


def test_info():
    assert data.info("fashion-mnist") == ((1, 28, 28), 10)
    assert data.info("digits") == ((1, 8, 8), 10)
    assert data.info("cifar10") == ((3, 32, 32), 10)
    assert data.info("cifar100") == ((3, 32, 32), 100)
    assert set(data.DATASETS) == {"fashion-mnist", "digits", "cifar10", "cifar100"}
    with pytest.raises(data.DataError, match="unknown dataset"):
        data.info("mnist")
    assert issubclass(data.DataError, ValueError)


def test_fmnist_test_split(sysdir):
    x, y = data.load("fashion-mnist", "test", data_dir=sysdir)
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (10000,) and y.dtype == torch.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert torch.equal(torch.bincount(y), torch.full((10,), 1000))  # balanced, labels 0..9
    raw = _raw_test_images(8)
    expect = torch.from_numpy(raw.astype(np.float32) / np.float32(255.0))
    assert torch.equal(x[:8], expect)  # p -> p / 255 exactly


def test_fmnist_train_full_loads(sysdir):
    # how fast it loads is a benchmark's question (a timed assert fails on a busy host)
    x, y = data.load("fashion-mnist", "train", data_dir=sysdir)
    assert x.shape == (60000, 1, 28, 28) and y.shape == (60000,)
    assert torch.equal(torch.bincount(y), torch.full((10,), 6000))


def test_fmnist_default_search_finds_debian_path(sysdir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./data/fashion-mnist here
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    x, y = data.load("fashion-mnist", "test", limit=16)
    x2, y2 = data.load("fashion-mnist", "test", data_dir=sysdir, limit=16)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_fmnist_uncompressed_idx(sysdir, tmp_path):
    for f in FILES[2:]:
        (tmp_path / f[:-3]).write_bytes(gzip.decompress((sysdir / f).read_bytes()))
    x, y = data.load("fashion-mnist", "test", data_dir=tmp_path, limit=100)
    x2, y2 = data.load("fashion-mnist", "test", data_dir=sysdir, limit=100)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_limit_is_prefix(sysdir):
    xf, yf = data.load("fashion-mnist", "test", data_dir=sysdir)
    x, y = data.load("fashion-mnist", "test", data_dir=sysdir, limit=37)
    assert x.shape[0] == 37 and torch.equal(x, xf[:37]) and torch.equal(y, yf[:37])
    xd, yd = data.load("digits", "train")
    x, y = data.load("digits", "train", limit=50)
    assert torch.equal(x, xd[:50]) and torch.equal(y, yd[:50])
    x, _ = data.load("digits", "test", limit=10**6)  # more than there is: everything
    assert len(x) == 360
    for bad in (0, -3, 2.5, True):
        with pytest.raises(data.DataError, match="limit"):
            data.load("digits", "train", limit=bad)
    with pytest.raises(data.DataError, match="split"):
        data.load("digits", "valid")


def test_digits():
    xtr, ytr = data.load("digits", "train")
    xte, yte = data.load("digits", "test")
    assert xtr.shape == (1437, 1, 8, 8) and xte.shape == (360, 1, 8, 8)
    assert xtr.dtype == torch.float32 and ytr.dtype == torch.int64
    for x in (xtr, xte):
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
        assert torch.equal(x * 16, torch.round(x * 16))  # v / 16 with v in 0..16
    # stratified: every class ~20% in test
    from sklearn.datasets import load_digits
    full = np.bincount(load_digits().target)
    te = np.bincount(yte.numpy(), minlength=10)
    assert np.all(np.abs(te - 0.2 * full) <= 1)
    # deterministic, and train/test partition the 1797 images
    xtr2, ytr2 = data.load("digits", "train")
    assert torch.equal(xtr, xtr2) and torch.equal(ytr, ytr2)
    assert len(xtr) + len(xte) == 1797


def test_fmnist_missing_dir(tmp_path):
    with pytest.raises(data.DataError) as e:
        data.load("fashion-mnist", "train", data_dir=tmp_path / "nope")
    msg = str(e.value)
    assert "apt-get install -y dataset-fashion-mnist" in msg and str(tmp_path / "nope") in msg
    assert "--data-dir" in msg


def _copy(sysdir, tmp_path, split="t10k"):
    for kind in ("images-idx3", "labels-idx1"):
        f = f"{split}-{kind}-ubyte.gz"
        (tmp_path / f).write_bytes((sysdir / f).read_bytes())


def test_fmnist_truncated_gzip(sysdir, tmp_path):
    _copy(sysdir, tmp_path)
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:5000])
    with pytest.raises(data.DataError, match="corrupt") as e:
        data.load("fashion-mnist", "test", data_dir=tmp_path)
    assert str(p) in str(e.value) and "--reinstall dataset-fashion-mnist" in str(e.value)


def test_fmnist_truncated_payload(sysdir, tmp_path):
    _copy(sysdir, tmp_path)
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())[:-784]))  # one image short
    with pytest.raises(data.DataError, match="corrupt.*truncated") as e:
        data.load("fashion-mnist", "test", data_dir=tmp_path)
    assert str(p) in str(e.value)


def test_fmnist_wrong_magic(sysdir, tmp_path):
    _copy(sysdir, tmp_path)
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(p.read_bytes()))
    raw[3] = 0x03  # an images magic on the labels file
    p.unlink()
    q = tmp_path / "t10k-labels-idx1-ubyte"  # uncompressed this time
    q.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="magic") as e:
        data.load("fashion-mnist", "test", data_dir=tmp_path)
    assert str(q) in str(e.value)


def test_fmnist_label_count_mismatch(sysdir, tmp_path):
    _copy(sysdir, tmp_path)
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress(p.read_bytes())
    n = 9999
    p.write_bytes(gzip.compress(raw[:4] + n.to_bytes(4, "big") + raw[8:8 + n]))
    with pytest.raises(data.DataError, match="9999 labels for 10000 images"):
        data.load("fashion-mnist", "test", data_dir=tmp_path)


def test_cifar_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, folder in (("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python")):
        with pytest.raises(data.DataError, match="cannot be downloaded") as e:
            data.load(name, "train")
        assert folder in str(e.value) and "--data-dir" in str(e.value)
        with pytest.raises(data.DataError, match="cannot be downloaded"):
            data.load(name, "test", data_dir=tmp_path / "elsewhere")


def _fake_cifar10(root: Path, per_batch=7):
    """The standard cifar-10-batches-py layout and pickle format, with few images."""
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, fn in enumerate(names):
        batch = {b"batch_label": fn.encode(),
                 b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"filenames": [b"x.png"] * per_batch}
        with open(d / fn, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    return d


def test_cifar10_pickle_format(tmp_path):
    d = _fake_cifar10(tmp_path)
    x, y = data.load("cifar10", "train", data_dir=tmp_path)
    assert x.shape == (35, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (35,)
    with open(d / "data_batch_1", "rb") as f:
        b = pickle.load(f, encoding="bytes")
    assert torch.equal(x[0], torch.from_numpy(b[b"data"][0].reshape(3, 32, 32) / np.float32(255)))
    assert y[:7].tolist() == b[b"labels"]
    x2, y2 = data.load("cifar10", "train", data_dir=d, limit=10)  # the folder itself
    assert torch.equal(x2, x[:10]) and torch.equal(y2, y[:10])
    xt, _ = data.load("cifar10", "test", data_dir=tmp_path)
    assert xt.shape == (7, 3, 32, 32)
    (d / "test_batch").write_bytes(b"\x80\x02garbage")
    with pytest.raises(data.DataError, match="test_batch is corrupt"):
        data.load("cifar10", "test", data_dir=tmp_path)


def _fake_cifar100(root: Path, n_train=9, n_test=5):
    """The standard cifar-100-python layout: 'train' and 'test' pickles with fine and coarse
    labels (protocol 2, bytes keys, as the published archive)."""
    d = root / "cifar-100-python"
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for fn, n in (("train", n_train), ("test", n_test)):
        batch = {b"filenames": [b"x.png"] * n, b"batch_label": fn.encode(),
                 b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
                 b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)],
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)}
        with open(d / fn, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    (d / "meta").write_bytes(pickle.dumps({b"fine_label_names": [b"c"] * 100}, protocol=2))
    return d


def test_cifar100_pickle_format(tmp_path):
    d = _fake_cifar100(tmp_path)
    x, y = data.load("cifar100", "train", data_dir=tmp_path)
    assert x.shape == (9, 3, 32, 32) and y.shape == (9,) and x.dtype == torch.float32
    with open(d / "train", "rb") as f:
        b = pickle.load(f, encoding="bytes")
    assert y.tolist() == b[b"fine_labels"]  # the 100 fine classes, not the 20 coarse ones
    assert torch.equal(x[3], torch.from_numpy(b[b"data"][3].reshape(3, 32, 32) / np.float32(255)))
    xt, yt = data.load("cifar100", "test", data_dir=d, limit=3)  # the folder itself
    assert xt.shape == (3, 3, 32, 32) and len(yt) == 3


def test_cifar_labels_out_of_range_are_refused(tmp_path):
    d = _fake_cifar100(tmp_path)
    with open(d / "test", "rb") as f:
        b = pickle.load(f, encoding="bytes")
    b[b"fine_labels"][0] = 100
    with open(d / "test", "wb") as f:
        pickle.dump(b, f, protocol=2)
    with pytest.raises(data.DataError, match="labels outside 0..99"):
        data.load("cifar100", "test", data_dir=tmp_path)


def test_cifar_pickle_with_foreign_objects_is_refused(tmp_path):
    """The loader unpickles only numpy arrays, lists and bytes: no code from a crafted file."""
    d = _fake_cifar10(tmp_path, per_batch=2)
    (d / "test_batch").write_bytes(pickle.dumps({b"data": Path("x"), b"labels": [0]}, protocol=2))
    with pytest.raises(data.DataError, match="refusing to load"):
        data.load("cifar10", "test", data_dir=tmp_path)
