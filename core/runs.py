"""Run folders, the hand-off between stages: where the IR and the test vectors are, and reading them.

A run folder (runs/<name>/, runs/latest links the newest) holds ir/ (model.json + weights.npz)
and vectors.npz: uint8 input codes `clean`, `fgsm`, `pgd` of shape (N, C, H, W) and `labels`.
Every backend reads them through these functions, so a missing or damaged file gives the same
clear error (core.errors.RunError / IRError) whichever command met it.
"""
from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

from core.errors import IRError, RunError
from core.network import Network

DEFAULT_RUN = Path("runs/latest")
TRAIN_HINT = "train and export a model first: `python train/run.py --quant 4bit` makes one"
VECTORS_HINT = "`python -m train.vectors RUN --n N` (re)makes them from the run's checkpoint"
# --attack value -> array in vectors.npz; any other array of images the file holds (the strong
# suite's, e.g. `hw_square` from train.robustness) is chosen by its own name
ATTACK_KEYS = {"none": "clean", "clean": "clean", "fgsm": "fgsm", "pgd": "pgd"}
ATTACKS = ("none", "fgsm", "pgd")
NOT_IMAGES = ("labels", "eps")


def attack_key(attack: str) -> str:
    """The vectors.npz array of an --attack value (none -> clean, other names as they are)."""
    if not isinstance(attack, str) or not attack.isidentifier():
        raise RunError(f"--attack: expected none, fgsm, pgd or another array name of "
                       f"vectors.npz, got {attack!r}")
    return ATTACK_KEYS.get(attack, attack)


def load_network(src=None) -> Network:
    """The Network of a run folder (holding ir/) or an IR folder; default runs/latest."""
    src = Path(src) if src is not None else DEFAULT_RUN
    if not src.exists():
        raise RunError(f"{src}: no such run or IR folder; {TRAIN_HINT}")
    if not ((src / "model.json").is_file() or (src / "ir" / "model.json").is_file()):
        raise RunError(f"{src}: no IR here (need {src}/ir/model.json or {src}/model.json); "
                       f"{TRAIN_HINT}")
    try:
        return Network.load(src)
    except IRError as e:
        raise IRError(f"invalid IR: {e}") from e


def run_folder(run=None) -> Path:
    run = Path(run) if run is not None else DEFAULT_RUN
    if not run.exists():
        raise RunError(f"{run}: no such run folder; {TRAIN_HINT}")
    return run


def load_vectors(run, attack: str = "none", n: int | None = None,
                 in_shape: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(codes uint8 (n, C, H, W), labels int64 (n,)) of the first n images of one set.

    attack: none (clean), fgsm, pgd or the name of another image array in vectors.npz.
    in_shape, when given, must match the images.
    """
    key = attack_key(attack)
    if n is not None and n < 1:
        raise RunError(f"the number of images must be >= 1, got {n}")
    path = run_folder(run) / "vectors.npz"
    if not path.is_file():
        raise RunError(f"{path}: no test vectors; train/run.py writes them with the run "
                       f"({TRAIN_HINT}), or {VECTORS_HINT}")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in (key, "labels") if k not in z.files or k in NOT_IMAGES[1:]]
            if missing:
                raise RunError(f"{path}: no array {missing[0]!r} (has: {', '.join(z.files)}); "
                               f"{VECTORS_HINT}")
            codes, labels = z[key], z["labels"]
    except RunError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise RunError(f"{path}: unreadable test vectors ({e}); {VECTORS_HINT}") from e
    if codes.dtype != np.uint8 or codes.ndim != 4:
        raise RunError(f"{path}: {key!r} must be uint8 (N, C, H, W), got {codes.dtype} "
                       f"{codes.shape}")
    if labels.ndim != 1 or len(labels) != len(codes) or not np.issubdtype(labels.dtype, np.integer):
        raise RunError(f"{path}: 'labels' must be N integers matching {key!r} ({len(codes)} images), "
                       f"got {labels.dtype} {labels.shape}")
    if in_shape is not None and codes.shape[1:] != tuple(in_shape):
        raise RunError(f"{path}: images {codes.shape[1:]} do not match the IR's input "
                       f"{list(in_shape)}")
    if n is not None:
        if n > len(codes):
            raise RunError(f"{path}: {n} images asked for, {len(codes)} saved; {VECTORS_HINT}")
        codes, labels = codes[:n], labels[:n]
    if len(codes) == 0:
        raise RunError(f"{path}: no images in {key!r}")
    return codes, np.asarray(labels).astype(np.int64)


def add_vector_arguments(ap: argparse.ArgumentParser, what: str, count: str = "--n") -> None:
    """The arguments every stage that runs a run's test vectors takes: the run folder, how
    many images (`count`, checked >= 1 by `check_count`) and which set (--attack)."""
    ap.add_argument("run", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder with {what} (default {DEFAULT_RUN})")
    ap.add_argument(count, type=int, default=None, help="first N images (default: all saved)")
    ap.add_argument("--attack", default="none", metavar="SET",
                    help="which vectors.npz images: none (clean, the default), fgsm, pgd, or "
                         "another array it holds (e.g. hw_square from train.robustness)")


def check_count(ap: argparse.ArgumentParser, n: int | None, count: str = "--n") -> None:
    if n is not None and n < 1:
        ap.error(f"{count} must be >= 1")
