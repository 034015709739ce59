"""The RTL backend: spells the target-neutral design (core.hw) as SystemVerilog.

Modules: writer (the design as a project: the hand-written kernel library in hdl/, a generated
top, $readmemh weight images), generate (CLI), verilator (cocotb's runner made fast), sim
(cached builds, the stream harness, cocotb test modules), simulate (the network against the
golden model: `make rtl-sim`), synth (Yosys area: `make synth`). See docs/RTL.md.
"""
