"""The Brevitas QAT side: quantized spiking layers, checkpoints, and the export to the IR.

quant.model and quant.lif compute in fp32 exactly the integer semantics that the torch-free
core states (docs/ARCHITECTURE.md); quant.export writes the IR (core.ir); quant.verify checks
the QAT model against core.golden to the bit.
"""
