"""Brevitas quantizer configuration: power-of-two scales everywhere, so fp32 is exact.

Every quantized value is an integer times 2^-f; with magnitudes below 2^24 LSBs, fp32
convolution and accumulation of such values is exact, which is what lets the float QAT model
and the integer golden model agree to the bit.
"""
from __future__ import annotations

import math

import brevitas.nn as qnn
from brevitas.quant import Int8WeightPerTensorFixedPoint, Uint8ActPerTensorFixedPoint

QUANT_CHOICES = ("float", "8bit", "4bit", "2bit")
INPUT_BITS = 8
INPUT_FRAC_BITS = 8  # input code c in 0..255 stands for c * 2^-8


class InputQuant(Uint8ActPerTensorFixedPoint):
    """8-bit unsigned input codes with a fixed scale of 2^-8: the codes the hardware receives."""

    scaling_impl_type = "const"
    scaling_init = 1.0


def weight_bits(quant: str) -> int | None:
    """Bit width of the weights for a --quant choice (None for float)."""
    if quant not in QUANT_CHOICES:
        raise ValueError(f"--quant must be one of {', '.join(QUANT_CHOICES)}, got {quant!r}")
    return None if quant == "float" else int(quant.removesuffix("bit"))


def conv2d(cin: int, cout: int, kernel: int, padding: int, bits: int | None):
    """A bias-free conv with signed narrow-range power-of-two weights (float when bits is None)."""
    if bits is None:
        return qnn.QuantConv2d(cin, cout, kernel, padding=padding, bias=False, weight_quant=None)
    return qnn.QuantConv2d(cin, cout, kernel, padding=padding, bias=False,
                           weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=bits)


def linear(fin: int, fout: int, bits: int | None):
    """A bias-free dense layer with the same weight quantizer as conv2d."""
    if bits is None:
        return qnn.QuantLinear(fin, fout, bias=False, weight_quant=None)
    return qnn.QuantLinear(fin, fout, bias=False,
                           weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=bits)


def input_quant(enabled: bool):
    """The model's input quantizer: float image in [0, 1] -> codes * 2^-8 (identity for float)."""
    if not enabled:
        return None
    return qnn.QuantIdentity(act_quant=InputQuant, return_quant_tensor=False)


def frac_bits_of(scale: float) -> int:
    """-log2(scale) for a power-of-two scale; anything else breaks the exactness contract."""
    f = -math.log2(float(scale))
    if f != round(f):
        raise ValueError(f"scale {scale!r} is not a power of two")
    return int(round(f))
