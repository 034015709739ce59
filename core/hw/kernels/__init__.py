"""The registry of kernel kinds: each owns its mapping, memories and cycle behaviour.

| kernel | implements |
|---|---|
| conv_direct_current | first conv layer's current, once per image (the only multipliers) |
| dense_direct_current | first dense layer's (or a lone readout's) current, once per image |
| lif_direct | LIF of the first layer over T timesteps on its stored current |
| pool_or | OR pooling of spike slices |
| conv_event | spike-driven conv + LIF: scatter then fire pass |
| dense_event | spike-driven dense + LIF |
| readout_event | spike-driven readout over T timesteps, then the result on m_axis |
| readout_direct | readout on the codes: T x current, then the result |
"""
from core.registry import import_all
from core.hw.kernels.base import EOT, PIPE, REGISTRY, SETTLE, Kernel, kernel

__all__ = ["EOT", "PIPE", "REGISTRY", "SETTLE", "Kernel", "kernel"]


import_all(__name__, __path__)  # every module registers the kinds it defines
