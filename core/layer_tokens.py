"""Layer token lists (`c16 p2 c48 p2 r`), the one spelling of a network that the trainer
(quant.model) and the torch-free random IRs (core.random_ir) both build from: cN conv with N
channels, pN OR pooling, fN dense LIF layer, r readout. Only convs and dense layers spike."""
from __future__ import annotations


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
