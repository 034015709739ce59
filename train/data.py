"""Datasets, offline only: images as float32 (N, C, H, W) in [0, 1] and int64 labels.

- fashion-mnist: the gzipped (or uncompressed) IDX files, from --data-dir, else
  ./data/fashion-mnist, else $FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist (Debian
  package dataset-fashion-mnist). Pixel p -> p / 255. Magic numbers and sizes are checked.
- digits: scikit-learn's bundled 8x8 digits (values 0..16 -> v / 16), shape (1, 8, 8); a fixed
  stratified 80/20 train/test split (seed 0, independent of any run seed).
- cifar10 / cifar100: the standard python-pickle batches (cifar-10-batches-py/,
  cifar-100-python/) under --data-dir (or --data-dir is that folder), else ./data/. Nothing is
  downloaded: this machine has no internet.
"""
from __future__ import annotations

import gzip
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
import torch

DATASETS = ("fashion-mnist", "digits", "cifar10", "cifar100")
SPLITS = ("train", "test")

_INFO = {
    "fashion-mnist": ((1, 28, 28), 10),
    "digits": ((1, 8, 8), 10),
    "cifar10": ((3, 32, 32), 10),
    "cifar100": ((3, 32, 32), 100),
}

FMNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
FMNIST_APT = "apt-get install -y dataset-fashion-mnist"
FMNIST_REINSTALL = "apt-get install --reinstall dataset-fashion-mnist"
_IDX_IMAGES, _IDX_LABELS = 0x00000803, 0x00000801  # ubyte, 3 dims / ubyte, 1 dim


class DataError(ValueError):
    """A dataset is missing, corrupt or unknown; the message says how to get it."""


def info(name: str) -> tuple[tuple[int, int, int], int]:
    """(in_shape (C, H, W), number of classes) of a dataset, without loading it."""
    _check_name(name)
    return _INFO[name]


def load(name: str, split: str, data_dir=None, limit: int | None = None):
    """(x float32 (N, C, H, W) in [0, 1], y int64 (N,)) of a split; `limit`: the first items."""
    _check_name(name)
    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if limit is not None:
        if isinstance(limit, bool) or int(limit) != limit or limit < 1:
            raise DataError(f"limit must be a positive integer or None, got {limit!r}")
        limit = int(limit)
    if name == "fashion-mnist":
        x, y = _load_fmnist(split, data_dir, limit)
    elif name == "digits":
        x, y = _load_digits(split, limit)
    else:
        x, y = _load_cifar(name, split, data_dir, limit)
    x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
    assert x.shape[1:] == _INFO[name][0] and len(x) == len(y)
    return x, y


def _check_name(name):
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _take(a: np.ndarray, limit):
    return a if limit is None else a[:limit]


# -- Fashion-MNIST (IDX) ----------------------------------------------------------------------
def _fmnist_dirs(data_dir) -> list[Path]:
    """Folders to search, in order. An explicit data_dir is the only place looked at."""
    if data_dir is not None:
        d = Path(data_dir)
        return [d, d / "fashion-mnist"]
    dirs = [Path("data/fashion-mnist")]
    env = os.environ.get("FASHION_MNIST_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(Path(FMNIST_SYSTEM_DIR))
    return dirs


def _find_idx(d: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        p = d / name
        if p.is_file():
            return p
    return None


def _load_fmnist(split, data_dir, limit):
    prefix = "train" if split == "train" else "t10k"
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    dirs = _fmnist_dirs(data_dir)
    for d in dirs:
        img, lab = (_find_idx(d, s) for s in stems)
        if img and lab:
            break
    else:
        where = "\n  ".join(str(d) for d in dirs)
        raise DataError(
            f"Fashion-MNIST {split} split not found ({stems[0]}[.gz] and {stems[1]}[.gz]); "
            f"searched:\n  {where}\nInstall it with `{FMNIST_APT}` (files land in "
            f"{FMNIST_SYSTEM_DIR}) or point --data-dir at a folder holding the IDX files.")
    x = _read_idx(img, _IDX_IMAGES, 3, limit)
    y = _read_idx(lab, _IDX_LABELS, 1, limit)
    if x.shape[1:] != (28, 28):
        _corrupt(img, f"images are {x.shape[1]}x{x.shape[2]}, expected 28x28")
    if len(x) != len(y):
        _corrupt(lab, f"{len(y)} labels for {len(x)} images in {img.name}")
    if y.size and y.max() >= 10:
        _corrupt(lab, f"label {int(y.max())} out of range 0..9")
    # p / 255 exactly as float32 (a lookup table: faster than dividing 47M floats)
    lut = np.arange(256, dtype=np.float32) / np.float32(255.0)
    return lut[x][:, None], y


def _corrupt(path: Path, why: str):
    raise DataError(f"{path} is corrupt: {why}; reinstall with `{FMNIST_REINSTALL}` "
                    "(or replace the file)")


def _read_idx(path: Path, magic: int, ndim: int, limit) -> np.ndarray:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        _corrupt(path, f"cannot decompress ({type(e).__name__}: {e})")
    head = 4 + 4 * ndim
    if len(raw) < head:
        _corrupt(path, f"{len(raw)} bytes, shorter than the {head}-byte IDX header")
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        _corrupt(path, f"IDX magic number 0x{got:08x}, expected 0x{magic:08x}")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    need = head + int(np.prod(dims, dtype=np.int64))
    if len(raw) != need:
        _corrupt(path, f"{len(raw)} bytes, but its header {dims} needs {need} (truncated?)"
                 if len(raw) < need else f"{len(raw) - need} bytes of trailing data after {dims}")
    n = dims[0] if limit is None else min(dims[0], limit)
    count = n * int(np.prod(dims[1:], dtype=np.int64))
    return np.frombuffer(raw, np.uint8, count=count, offset=head).reshape(n, *dims[1:])


# -- scikit-learn digits ----------------------------------------------------------------------
def _load_digits(split, limit):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) / np.float32(16.0))[:, None]
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    x, y = (xtr, ytr) if split == "train" else (xte, yte)
    return _take(x, limit), _take(y, limit)


# -- CIFAR (python pickles) -------------------------------------------------------------------
_CIFAR = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                b"labels", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels",
                 "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"),
}

# The CIFAR pickles hold dicts of bytes, lists and numpy arrays: allow only what they need.
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _PICKLE_ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _cifar_dir(name, data_dir) -> tuple[Path | None, list[Path]]:
    folder, train_files, _, _, _ = _CIFAR[name]
    cands = []
    if data_dir is not None:
        d = Path(data_dir)
        cands += [d / folder, d]
    else:
        cands.append(Path("data") / folder)
    for c in cands:
        if (c / train_files[0]).is_file():
            return c, cands
    return None, cands


def _load_cifar(name, split, data_dir, limit):
    folder, train_files, test_files, label_key, url = _CIFAR[name]
    d, cands = _cifar_dir(name, data_dir)
    if d is None:
        where = "\n  ".join(str(c) for c in cands)
        raise DataError(
            f"{name} not found; searched:\n  {where}\nCIFAR cannot be downloaded here (no "
            f"internet). On a machine with internet get {url}, unpack it so that "
            f"{folder}/ sits in ./data/ (or pass --data-dir pointing at the folder that holds "
            f"{folder}/, or at {folder}/ itself), and copy it over.")
    xs, ys, have = [], [], 0
    for fn in (train_files if split == "train" else test_files):
        p = d / fn
        if not p.is_file():
            raise DataError(f"{p} is missing from {d}: re-extract {url}")
        try:
            with open(p, "rb") as f:
                batch = _SafeUnpickler(f, encoding="bytes").load()
            data = np.asarray(batch[b"data"], dtype=np.uint8)
            labels = np.asarray(batch[label_key], dtype=np.int64)
        except Exception as e:  # noqa: BLE001 - any failure here means a bad file
            raise DataError(f"{p} is corrupt: {type(e).__name__}: {e}; re-extract {url}") from e
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
            raise DataError(f"{p} is corrupt: data {data.shape}, {len(labels)} labels; "
                            f"re-extract {url}")
        xs.append(data)
        ys.append(labels)
        have += len(data)
        if limit is not None and have >= limit:
            break
    x = _take(np.concatenate(xs), limit).reshape(-1, 3, 32, 32)
    y = _take(np.concatenate(ys), limit)
    n_classes = _INFO[name][1]
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{d} is corrupt: labels outside 0..{n_classes - 1}; re-extract {url}")
    lut = np.arange(256, dtype=np.float32) / np.float32(255.0)
    return lut[x], y
