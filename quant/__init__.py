"""Quantized spiking building blocks, the hardware IR and the bit-exact integer golden model.

The QAT model (quant.model), the IR export (quant.export) and the golden model (quant.golden)
share one integer semantics, stated in docs/ARCHITECTURE.md.
"""
