"""Checkpoints: the trained state plus the config needed to rebuild the model, written atomically."""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from core.atomic import atomic_file
from core.errors import FlowError
from quant.model import ModelConfig, QuantSNN

FORMAT = "hire-snn-checkpoint"
VERSION = 1


class CheckpointError(FlowError, ValueError):
    """A checkpoint that is missing, unreadable or does not fit its config."""


def save(path, model: QuantSNN, extra: dict | None = None) -> Path:
    path = Path(path)
    blob = {"format": FORMAT, "version": VERSION, "config": model.cfg.to_dict(),
            "state_dict": model.state_dict(), "extra": extra or {}}
    with atomic_file(path) as tmp:
        torch.save(blob, tmp)
    return path


def load(path) -> tuple[QuantSNN, dict]:
    """Rebuild the model in eval mode; any damage gives a CheckpointError naming the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one with `python train/run.py`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, KeyError,
            AttributeError, IndexError, TypeError, pickle.UnpicklingError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated): {e}") from e
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} file")
    if blob.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {blob.get('version')!r}, expected {VERSION}")
    try:
        model = QuantSNN(ModelConfig(**blob["config"]))
        model.load_state_dict(blob["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: config or weights do not fit together: {e}") from e
    model.eval()
    return model, blob.get("extra", {})
