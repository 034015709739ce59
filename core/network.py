"""Network: a typed, read-only view of a validated IR, the one thing every backend reads.

The IR on disk is model.json + weights.npz (core.ir validates it). Backends and the golden model
take a Network instead of raw dicts: layers are frozen dataclasses with the IR's fields, and the
weight arrays are read-only, so no stage can change what another stage will see.
"""
from __future__ import annotations

import copy
import json
import types
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from core import ir as IR


@dataclass(frozen=True)
class Layer:
    index: int
    name: str
    kind: str                  # conv, dense, pool, readout
    in_shape: tuple
    out_shape: tuple

    @property
    def outputs(self) -> int:
        """Output channels (conv, pool) or neurons (dense, readout)."""
        return self.out_shape[0]


@dataclass(frozen=True)
class Pool(Layer):
    size: int                  # max (OR) pooling over size x size windows, floor cropping


@dataclass(frozen=True)
class WeightLayer(Layer):
    weights: np.ndarray        # int8, read-only, IR layout: conv (O, C, k, k), else (O, C*H*W)
    weight_bits: int
    weight_frac_bits: int
    in_frac_bits: int
    acc_frac_bits: int
    first: bool                # True: reads the 8-bit input codes; False: binary spikes
    current_bits: int
    current_range: tuple

    @property
    def in_max(self) -> int:
        return 255 if self.first else 1


@dataclass(frozen=True)
class LIFLayer(WeightLayer):
    threshold: int
    leak_shift: int
    membrane_bits: int
    membrane_range: tuple


@dataclass(frozen=True)
class Conv(LIFLayer):
    kernel: int
    padding: int


@dataclass(frozen=True)
class Dense(LIFLayer):
    pass


@dataclass(frozen=True)
class Readout(WeightLayer):
    acc_bits: int
    acc_range: tuple


def _frozen(a) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def _layer(i: int, L: dict, weights: dict, first: bool) -> Layer:
    base = dict(index=i, name=L["name"], kind=L["kind"], in_shape=tuple(L["in_shape"]),
                out_shape=tuple(L["out_shape"]))
    if L["kind"] == "pool":
        return Pool(**base, size=L["size"])
    w = dict(weights=_frozen(weights[L["weights"]]), weight_bits=L["weight_bits"],
             weight_frac_bits=L["weight_frac_bits"], in_frac_bits=L["in_frac_bits"],
             acc_frac_bits=L["acc_frac_bits"], first=first, current_bits=L["current_bits"],
             current_range=tuple(L["current_range"]))
    if L["kind"] == "readout":
        return Readout(**base, **w, acc_bits=L["acc_bits"], acc_range=tuple(L["acc_range"]))
    lif = dict(threshold=L["threshold"], leak_shift=L["leak_shift"],
               membrane_bits=L["membrane_bits"], membrane_range=tuple(L["membrane_range"]))
    if L["kind"] == "conv":
        return Conv(**base, **w, **lif, kernel=L["kernel"], padding=L["padding"])
    return Dense(**base, **w, **lif)


class Network:
    """A validated IR: `layers` (typed), `timesteps`, `in_shape`, `classes`, `weights`."""

    def __init__(self, model: dict, weights: dict):
        IR.validate(model, weights)
        self._model = copy.deepcopy(model)
        self.weights = types.MappingProxyType({k: _frozen(v) for k, v in weights.items()})
        self.timesteps: int = model["timesteps"]
        self.in_shape: tuple = tuple(model["input"]["shape"])
        self.classes: int = model["output"]["classes"]
        layers, first = [], True
        for i, L in enumerate(model["layers"]):
            layers.append(_layer(i, L, weights, first))
            first = first and L["kind"] == "pool"  # only the first weight layer reads codes
        self.layers: tuple = tuple(layers)

    @classmethod
    def from_ir(cls, model: dict, weights: dict) -> "Network":
        return cls(model, weights)

    @classmethod
    def load(cls, path) -> "Network":
        """An IR folder, or a run folder holding ir/ (errors: core.errors.IRError)."""
        return cls(*IR.read(path))

    @property
    def model(self) -> dict:
        """A copy of model.json (for writing it out or hashing; the view is the source)."""
        return copy.deepcopy(self._model)

    @property
    def source(self) -> dict:
        return dict(self._model.get("source", {}))

    @cached_property
    def sha256(self) -> str:
        return IR.sha256(self._model, dict(self.weights))

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def readout(self) -> Readout:
        return self.layers[-1]

    def layer(self, name: str) -> Layer:
        for L in self.layers:
            if L.name == name:
                return L
        raise KeyError(name)

    def save(self, out_dir):
        return IR.save(out_dir, self._model, dict(self.weights))

    def summary(self) -> str:
        names = self.source.get("layers") or [L.name for L in self.layers]
        return (f"{' '.join(names)}, T={self.timesteps}, "
                f"input {'x'.join(map(str, self.in_shape))}")

    def __repr__(self) -> str:
        return f"Network({self.summary()}, sha256={self.sha256[:12]})"

    def to_json(self) -> str:
        return json.dumps(self._model, indent=2) + "\n"
