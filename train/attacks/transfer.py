"""Black-box transfer: adversarial images crafted white-box on a source model, then shown to the
target. The paper's setting (`transfer`: a separately seeded model of the same architecture) and
the suite's attacks `transfer-snn` / `transfer-ann`, whose sources come from a zoo trained with
the flow's own functions and cached by configuration (`transfer_source`)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

from core.atomic import atomic_file
from core.errors import RunError
from core.layer_tokens import kind_of
from quant import checkpoint as ckpt
from quant.model import ModelConfig, QuantSNN
from train import data
from train.attacks._common import accuracy, check_images
from train.attacks._registry import PAPER_EPS, SuiteEntry, register, run_attack
from train.attacks.pgd import search

SOURCES = ("snn", "ann")


def transfer(source_model, target_model, x, y, eps: float = PAPER_EPS, attack: str = "pgd", *,
             batch_size: int = 256, progress: bool = True, **fields) -> float:
    """The paper's black-box setting: craft `attack` on source_model (white-box, the budget
    `fields`), return target_model's accuracy on the result."""
    if tuple(source_model.cfg.in_shape) != tuple(target_model.cfg.in_shape):
        raise ValueError(f"source takes {tuple(source_model.cfg.in_shape)} images, target "
                         f"{tuple(target_model.cfg.in_shape)}")
    x_adv = run_attack(attack, source_model, x, y, eps, batch_size=batch_size,
                       progress=progress, **fields)
    return accuracy(target_model, x_adv, y, seed=fields.get("seed", 0))


def _transfer(model, x, y, eps, budget, kind, name):
    """PGD on the cross-entropy through the source's trained surrogate, one random start, a
    constant step of eps/4, the last iterate (no query of the target). Reads sources,
    transfer_steps, seed, batch_size (500), progress."""
    src = (budget.sources or {}).get(kind)
    if src is None:
        raise ValueError(f"{name} crafts on budget.sources[{kind!r}], a source model "
                         "(transfer_source trains and caches one)")
    check_images(src, x)
    return search(src, x, y, eps, "ce", budget.transfer_steps, 1, None, budget.seed, 0.25, 0.25,
                  "last", budget.batch(500), budget.progress, f"{name} eps={eps:.4f}")


def _register_transfer():
    for kind in SOURCES:
        register(f"transfer-{kind}", suite=SuiteEntry("transfer", white_box=False), kind=kind,
                 name=f"transfer-{kind}")(_transfer)


_register_transfer()


# -- the source zoo ---------------------------------------------------------------------------
class FloatANN(nn.Module):
    """The SNN's topology as a float ANN: its convs / dense layers with ReLU instead of LIF
    neurons, max pooling, the same readout; no bias (as the SNN). The forward has the SNN's
    signature so that the flow's train_model and attacks take it: acc = logits * T."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = ModelConfig(**{**cfg.to_dict(), "quant": "float", "encoding": "direct"})
        self.bits = None
        layers, s = [], tuple(self.cfg.in_shape)
        for tok in self.cfg.layers:
            kind, arg = kind_of(tok), tok[1:]
            if kind == "conv":
                layers += [nn.Conv2d(s[0], int(arg), 3, padding=1, bias=False), nn.ReLU()]
                s = (int(arg), *s[1:])
            elif kind == "pool":
                layers.append(nn.MaxPool2d(int(arg)))
                s = (s[0], s[1] // int(arg), s[2] // int(arg))
            else:                                   # dense or the readout
                n_out = self.cfg.n_classes if kind == "readout" else int(arg)
                if len(s) == 3:
                    layers.append(nn.Flatten())
                    s = (s[0] * s[1] * s[2],)
                layers.append(nn.Linear(s[0], n_out, bias=False))
                if kind == "dense":
                    layers.append(nn.ReLU())
                s = (n_out,)
        self.net = nn.Sequential(*layers)

    def forward(self, x, state=None, timesteps=None, record=False, keep_state=True):
        T = int(timesteps or self.cfg.timesteps)
        return self.net(x) * T, [], []

    def logits(self, x, timesteps=None):
        return self.net(x)


def cache_dir() -> Path:
    base = os.environ.get("HIRE_SNN_CACHE")
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else (Path(xdg) if xdg else Path.home() / ".cache") / "hire-snn"
    return root / "transfer"


def transfer_source(kind: str, model, cfg, epochs: int = 2, train_limit: int | None = None,
                    cache: Path | None = None, progress: bool = True, log=print) -> nn.Module:
    """The cached transfer source of this network (kind "snn" or "ann"), trained when missing.

    snn: the run's network with direct input, T=8, standard BPTT; ann: FloatANN. Both from seed
    10007 (10008 if the run itself used 10007), `epochs` on `train_limit` training images (all:
    None) of the run's dataset (`cfg`: its training config)."""
    # the flow's trainer sits above the attacks (it imports them): imported when training
    from train.experiment import seed_everything, train_model
    cache = cache or cache_dir()
    seed = 10007 if getattr(cfg, "seed", 0) != 10007 else 10008
    T = model.cfg.timesteps if model.cfg.encoding == "direct" else 8
    mcfg = ModelConfig(**{**model.cfg.to_dict(), "encoding": "direct", "timesteps": T})
    ident = {"kind": kind, "model": mcfg.to_dict(), "dataset": cfg.dataset, "seed": seed,
             "epochs": epochs, "train_limit": train_limit, "version": 1}
    if kind == "ann":
        ident["model"] = {k: v for k, v in ident["model"].items() if k in ("arch", "in_shape",
                                                                           "n_classes", "layers")}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    path = cache / f"{kind}-{cfg.dataset}-{key}.pt"
    if path.is_file():
        try:
            if kind == "snn":
                return ckpt.load(path)[0]
            ann = FloatANN(mcfg)
            ann.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return ann.eval()
        except (ckpt.CheckpointError, RuntimeError, OSError, ValueError) as e:
            log(f"transfer source {path} unreadable ({e}); training it again")
    try:
        xtr, ytr = data.load(cfg.dataset, "train", getattr(cfg, "data_dir", None), train_limit)
    except data.DataError as e:
        raise RunError(str(e)) from e
    log(f"training the transfer source ({kind}, seed {seed}, {epochs} epoch(s) on "
        f"{len(xtr)} images) into {path}")
    seed_everything(seed)
    torch.manual_seed(seed)
    src = QuantSNN(mcfg) if kind == "snn" else FloatANN(mcfg)
    a = SimpleNamespace(batch_size=128, lr=2e-3, periods=1, train_eps=0.0, eps_ramp=0.0,
                        timesteps=int(mcfg.timesteps), encoding="direct", no_progress=not progress)
    train_model(src, xtr, ytr, a, epochs, "standard", seed, torch.device("cpu"),
                desc=f"transfer source ({kind})")
    src.eval()
    if kind == "snn":
        ckpt.save(path, src, extra={"transfer_source": ident})
    else:
        with atomic_file(path) as tmp:
            torch.save(src.state_dict(), tmp)
    return src
