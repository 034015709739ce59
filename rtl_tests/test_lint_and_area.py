"""The RTL as an FPGA engineer reads it: `verilator --lint-only -Wall` clean for several
networks, and Yosys (synth_xilinx, xc7) maps memories to block or distributed RAM, puts no DSP
outside the first layer and keeps flip-flops few (no memory turned into registers)."""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from rtl_tests.conftest import cli

pytestmark = pytest.mark.generated_rtl

from core.random_ir import random_network
from rtl import pnr, synth, writer
from rtl.variants import sources_for
from rtl.verilator import find_verilator


@pytest.mark.parametrize("layers,kw,lanes", [
    ("c16 p2 c48 p2 r", {}, {}),                                     # the default network
    ("c6 p2 c10 p2 f12 r", dict(weight_bits=2, timesteps=6), {"conv2": 1, "dense1": 5}),
    ("c4 c6 p3 f20 f12 r", dict(weight_bits=8, kernel=5, padding=2), {"readout": 3}),
    ("f24 r", dict(timesteps=3), {}),
    ("r", dict(weight_bits=2, timesteps=4), {}),
    # taps per cycle in the first conv: the window (9 banks), a 5x5 kernel's rows (5 banks)
    ("c16 p2 c48 p2 r", {}, {"conv1": {"lanes": 16, "taps": 9}}),
    ("c4 c6 p3 f20 f12 r", dict(kernel=5, padding=2), {"conv1": {"lanes": 3, "taps": 5}}),
], ids=["default", "c-c-f-2bit", "k5-crop-8bit", "dense-first", "readout-only", "taps9",
        "k5-taps5"])
def test_verilator_lint_clean(tmp_path, design, layers, kw, lanes):
    net = random_network(layers, seed=2, **kw)
    knobs = {k: v if isinstance(v, dict) else {"lanes": v} for k, v in lanes.items()}
    prj = writer.write(design(net, layers=knobs), tmp_path / "prj")
    meta = json.loads((prj / "project.json").read_text())
    # the generic library, and the ECP5 variants on the models of their primitives
    for variant in (None, "ecp5"):
        srcs = [str(prj / s) for s in sources_for(meta, variant, sim=True)]
        srcs.append(str(prj / meta["dut_top"]))
        for top in ("hire_snn", "dut_top"):
            p = subprocess.run([find_verilator(), "--lint-only", "-Wall", "--top-module", top,
                                *srcs], cwd=prj, capture_output=True, text=True)
            assert p.returncode == 0 and "%Warning" not in p.stderr, (variant, p.stderr[-3000:])


def test_yosys_maps_memories_and_keeps_multipliers_in_the_first_layer(tmp_path, design):
    net = random_network("c8 p2 c16 p2 r", seed=3)
    d = design(net)
    prj = writer.write(d, tmp_path / "prj")
    rc, rep, out = cli("rtl.synth", prj, "--json", tmp_path / "rep.json")  # the command line
    assert rc == 0, out
    assert set(rep) >= {"LUT", "FF", "BRAM", "DSP", "layers"}
    layers = rep["layers"]
    assert list(layers) == ["conv1", "pool1", "conv2", "pool2", "readout"]
    assert layers["conv1"]["DSP"] <= 8 and all(v["DSP"] == 0 for k, v in layers.items()
                                               if k != "conv1")
    # conv2's membranes: 9 shallow banks (5 x 5 words of 16 membranes) in distributed RAM, as
    # the design says; the stored current and the membranes of conv1 in block RAM: registers
    # stay a small fraction of the stored bits
    assert all(m.lutram for m in d.process("conv2").memories if m.name.startswith("membranes"))
    assert layers["conv2"]["LUTRAM"] >= 9 and layers["conv1"]["BRAM"] >= 3
    assert rep["FF"] < sum(d.memory_bits_per_layer().values()) / 10
    stored = sum(d.memory_bits_per_layer(lutram=False).values())
    assert json.loads((prj / "synth_report.json").read_text()) == rep
    assert json.loads((tmp_path / "rep.json").read_text()) == rep
    # per kernel: conv2's event kernel and its output FIFO, summing to the layer
    k2 = layers["conv2"]["kernels"]
    assert set(k2) == {"snn_conv_event", "snn_fifo"}
    assert sum(v["BRAM"] for v in k2.values()) == layers["conv2"]["BRAM"]
    # bits stored (the design's) against block RAM allocated, per layer
    mem = rep["memory"]
    assert mem["conv2"]["bits_stored"] == d.memory_bits_per_layer(lutram=False)["conv2"]
    assert mem["conv2"]["bits_allocated"] == layers["conv2"]["BRAM"] * 36 * 1024
    assert mem["total"]["efficiency"] == round(stored / (rep["BRAM"] * 36 * 1024), 3)


def test_ecp5_synthesis_reports_the_primitives_place_and_route_uses(tmp_path, design):
    """--family ecp5 (synth_ecp5, what make pnr places and what the folding's area model is
    calibrated on): LUT4 / CCU2C / DP16KD / MULT18 per layer and kernel; multipliers only in
    the first layer's current kernel, as many as its lanes."""
    net = random_network("c8 p2 c16 p2 r", seed=3)
    d = design(net)
    prj = writer.write(d, tmp_path / "prj")
    rc, rep, out = cli("rtl.synth", prj, "--family", "ecp5")
    assert rc == 0, out
    assert rep["family"] == "ecp5" and rep["LUT4"] > 0 and rep["DP16KD"] > 0
    conv1 = rep["layers"]["conv1"]["kernels"]
    assert conv1["snn_direct_current"]["MULT18"] == d.lanes["conv1"] == rep["MULT18"]
    assert rep["memory"]["conv2"]["bits_allocated"] == rep["layers"]["conv2"]["DP16KD"] * 18432
    assert rep["layers"]["conv2"]["DPR16X4"] > 0  # its membrane banks, in LUT RAM
    assert json.loads((prj / "synth_ecp5_report.json").read_text()) == rep
    assert "frontend: hdl/ecp5/snn_mul_reg.sv" in (prj / "synth_ecp5.log").read_text()


def test_ecp5_multipliers_use_the_dsps_own_registers(tmp_path, design):
    """The ECP5 flow synthesizes the ECP5 variant of the multiplier (project.json "variants"):
    every MULT18X18D of the netlist nextpnr places has its A, B and P registers on, so no
    routed path runs through the multiplier array; the generic module stays what simulates."""
    net = random_network("c8 p2 c16 p2 r", seed=3)
    d = design(net)
    prj = writer.write(d, tmp_path / "prj")
    sources, top, _ = synth.load_sources(prj, "ecp5")
    generic, _, _ = synth.load_sources(prj)
    assert "hdl/ecp5/snn_mul_reg.sv" in sources and "hdl/snn_mul_reg.sv" not in sources
    assert "hdl/snn_mul_reg.sv" in generic and not any("ecp5" in s for s in generic)
    tmp = Path(tempfile.mkdtemp(prefix=".synth-", dir=prj))   # as rtl.pnr: inside the project
    pnr.run_synth(prj, tmp, sources, top)
    netlist = json.loads((tmp / "netlist.json").read_text())
    dsps = [c for m in netlist["modules"].values() for c in m["cells"].values()
            if c["type"] == "MULT18X18D"]
    assert len(dsps) == d.lanes["conv1"]
    for c in dsps:
        regs = {k: c["parameters"][k].strip() for k in
                ("REG_INPUTA_CLK", "REG_INPUTB_CLK", "REG_PIPELINE_CLK", "REG_OUTPUT_CLK")}
        assert regs == {"REG_INPUTA_CLK": "CLK0", "REG_INPUTB_CLK": "CLK0",
                        "REG_PIPELINE_CLK": "NONE", "REG_OUTPUT_CLK": "CLK0"}


def test_a_crash_of_abc9s_self_check_repeats_synthesis_without_it(tmp_path, design, monkeypatch):
    """ABC's &verify asserts on some netlists in the WASM build (the 16/255, leak 0.875 network's
    fire unit); synthesis is then repeated without that check and the report says so. Any
    other Yosys failure stays an error."""
    prj = writer.write(design(random_network("r", seed=1, timesteps=2)), tmp_path / "prj")
    assert "abc9.verify" not in synth.yosys_script(["a.sv"], "top", "s.json")
    assert "scratchpad -set abc9.verify false" in synth.yosys_script(["a.sv"], "top", "s.json", False)
    real, calls = synth.run_yosys, []

    def crashing_once(prj, sources, top, abc9_verify=True, family=synth.FAMILIES["xc7"]):
        calls.append(abc9_verify)
        if abc9_verify:
            raise synth.Abc9VerifyCrash("ABC9's &verify crashed")
        return real(prj, sources, top, abc9_verify, family)

    monkeypatch.setattr(synth, "run_yosys", crashing_once)
    rep = synth.synth(prj)
    assert calls == [True, False] and rep["abc9_verify"] is False and rep["LUT"] > 0

    def failing(prj, sources, top, abc9_verify=True, family=None):
        raise synth.ToolError("yosys failed")

    monkeypatch.setattr(synth, "run_yosys", failing)
    with pytest.raises(synth.ToolError, match="yosys failed"):
        synth.synth(prj)
