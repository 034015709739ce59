"""Layer token lists (`c16 p2 c48 p2 r`), the one spelling of a network that the trainer
(quant.model) and the torch-free random IRs (core.random_ir) both build from: cN conv with N
channels, pN OR pooling, fN dense LIF layer, r readout. Only convs and dense layers spike."""
from __future__ import annotations

KINDS = {"c": "conv", "p": "pool", "f": "dense", "r": "readout"}  # token letter -> layer kind


def kind_of(tok: str) -> str:
    """The IR layer kind of one token (`c16` -> conv); ValueError naming the tokens otherwise."""
    kind = KINDS.get(tok[:1])
    if kind is None:
        raise ValueError(f"unknown layer token {tok!r} (use cN, pN, fN, r)")
    return kind


def layer_names(kinds) -> list[str]:
    """The IR's layer names for a sequence of kinds: one count per kind (conv1, pool1, conv2,
    dense1, ...), the readout just "readout". Export, energy and random IRs all name so."""
    counts, names = {}, []
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
        names.append("readout" if kind == "readout" else f"{kind}{counts[kind]}")
    return names


def n_spiking(layers) -> int:
    """How many spiking (LIF) layers a token list has: its convs and dense layers."""
    return sum(tok[:1] in ("c", "f") for tok in layers)


def per_spiking_layer(leak_shift, layers, name: str = "leak_shift") -> list[int]:
    """One leak shift k per spiking layer of `layers`, from one k for all or a list of them."""
    n = n_spiking(layers)
    if not isinstance(leak_shift, (list, tuple)):
        return [int(leak_shift)] * n
    if len(leak_shift) != n:
        raise ValueError(f"{name}: {len(leak_shift)} values for {n} spiking layers "
                         f"({' '.join(layers)}); give one, or one each")
    return [int(k) for k in leak_shift]
