"""`python -m rtl.pnr`: open place and route for a Lattice ECP5 (synth_ecp5, nextpnr-ecp5,
ecppack) of a small generated network, with its routed Fmax, resources and bitstream, and the
errors a user can make (a part that does not exist, one too small for the design, no project).

The network is small so that the whole file runs in about a minute: two 3x3 conv layers (the
second event-driven) and a readout on 8x8 images, 2 timesteps, with its spike FIFOs 32768
deep so that they need more block RAM (75 DP16KD today) than a 25F has (56) while the logic stays
small: the same design routes on the 85F and cannot fit the 25F or the 12F."""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil

import pytest

pytestmark = pytest.mark.generated_rtl

from core.random_ir import random_network
from rtl import pnr, writer

MHZ = 100
BIG_FIFO = 32768


def run(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = pnr.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def small_project(tmp_path_factory, design):
    net = random_network("c2 p2 c4 p2 r", in_shape=(1, 8, 8), timesteps=2, classes=4, seed=1)
    return writer.write(design(net, fifo_depth=BIG_FIFO), tmp_path_factory.mktemp("pnr") / "prj")


@pytest.fixture(scope="module")
def routed(small_project, tmp_path_factory):
    """One real run of the command line on the 85F (the ULX3S's part) with a bitstream."""
    out = tmp_path_factory.mktemp("pnr_out")
    bit, js = out / "hire_snn.bit", out / "report.json"
    rc, stdout, stderr = run([small_project, "--part", "LFE5U-85F-6BG381C", "--mhz", MHZ,
                              "--seed", 1, "--bitstream", bit, "--json", js])
    return dict(rc=rc, stdout=stdout, stderr=stderr, prj=small_project, bit=bit, json=js)


def copy_project(prj, dst):
    shutil.copytree(prj, dst, ignore=shutil.ignore_patterns("*.log", "*report.json"))
    return dst


def test_routes_reports_fmax_resources_and_packs_a_bitstream(routed):
    assert routed["rc"] == 0, routed["stderr"]
    prj = routed["prj"]
    last = routed["stdout"].strip().splitlines()[-1]
    r = json.loads(last)
    assert r == json.loads((prj / pnr.REPORT).read_text()) == json.loads(routed["json"].read_text())
    assert (r["part"], r["device"], r["package"], r["speed"]) == \
        ("LFE5U-85F-6BG381C", "LFE5U-85F", "CABGA381", 6)
    assert r["target_mhz"] == MHZ and r["seed"] == 1 and r["top"] == "hire_snn"
    assert r["clock"] == "ap_clk"
    # what was placed is the ECP5 variant of the multiplier (MULT18X18D's own registers)
    synth_log = (prj / pnr.SYNTH_LOG).read_text()
    assert "frontend: hdl/ecp5/snn_mul_reg.sv" in synth_log
    assert "frontend: hdl/snn_mul_reg.sv" not in synth_log

    # the bitstream: ecppack's header names the part, and the device ID it carries (after the
    # VERIFY_ID command 0xE2) is the LFE5U-85F's, 0x41113043
    data = routed["bit"].read_bytes()
    assert len(data) > 100_000
    assert b"Part: LFE5U-85F-6CABGA381" in data[:64]
    assert b"\xe2\x00\x00\x00\x41\x11\x30\x43" in data[:64]
    assert r["bitstream"] == str(routed["bit"])

    # Fmax: nextpnr's routed figure for ap_clk, in its report and as the log's last line
    nx = json.loads((prj / pnr.NEXTPNR_REPORT).read_text())
    log = (prj / pnr.PNR_LOG).read_text()
    assert isinstance(r["fmax_mhz"], float) and r["fmax_mhz"] > 0
    assert r["clock_net"] in nx["fmax"]
    assert r["fmax_mhz"] == round(nx["fmax"][r["clock_net"]]["achieved"], 2)
    last_fmax = re.findall(r"Max frequency for clock '([^']+)': ([0-9.]+) MHz", log)[-1]
    assert last_fmax == (r["clock_net"], f"{r['fmax_mhz']:.2f}")
    assert r["timing_met"] == (r["fmax_mhz"] >= MHZ)

    # resources: the netlist's cells are what nextpnr placed
    util = nx["utilization"]
    for key in ("LUT4", "CCU2C", "FF", "DP16KD", "MULT18", "DPR16X4"):
        assert isinstance(r[key], int) and r[key] >= 0, key
    assert r["LUT4"] > 0 and r["FF"] > 0 and r["CCU2C"] > 0 and r["MULT18"] > 0
    assert r["FF"] == util["TRELLIS_FF"]["used"]
    assert r["DP16KD"] == util["DP16KD"]["used"] > 56       # the deep FIFOs in block RAM
    assert r["MULT18"] == util["MULT18X18D"]["used"]
    assert r["DPR16X4"] == util["TRELLIS_RAMW"]["used"]
    prepack = dict(re.findall(r"^Info:\s+(\w+ LUTs):\s+(\d+)/", log, re.M))
    assert int(prepack["logic LUTs"]) == r["LUT4"]
    assert int(prepack["carry LUTs"]) == 2 * r["CCU2C"]
    assert int(prepack["RAM LUTs"]) == 4 * r["DPR16X4"]
    assert util["TRELLIS_COMB"]["used"] >= r["LUT4"] + 2 * r["CCU2C"] + 6 * r["DPR16X4"]
    used = {k: v for k, v in util.items() if v["used"] > 0}
    assert r["resources"] == {k: [v["used"], v["available"]] for k, v in used.items()}
    assert r["utilisation"] == {k: round(100 * v["used"] / v["available"], 1)
                                for k, v in used.items()}
    assert util["TRELLIS_COMB"]["available"] == 83640 and util["DP16KD"]["available"] == 208

    # the critical path: nextpnr's routed path within ap_clk, as its log sums it
    cp = r["critical_path"]
    assert cp["from"] and cp["to"] and cp["logic_ns"] > 0 and cp["routing_ns"] > 0
    section = log.split(f"Critical path report for clock '{r['clock_net']}'")[-1]
    logic, routing = map(float, re.search(r"([0-9.]+) ns logic, ([0-9.]+) ns routing",
                                          section).groups())
    assert abs(cp["logic_ns"] - logic) <= 0.006 and abs(cp["routing_ns"] - routing) <= 0.006

    # latency at the measured clock, from the cycle model (no RTL simulation ran here)
    lat = json.loads((prj / "latency.json").read_text())
    assert r["cycles_from"] == "latency.json"
    assert r["cycles_per_image"] == lat["cycles_per_image"]
    assert r["interval_cycles"] == lat["interval_between_images"]
    assert r["latency_us"] == round(lat["cycles_per_image"] / r["fmax_mhz"], 3)
    assert r["interval_us"] == round(lat["interval_between_images"] / r["fmax_mhz"], 3)

    assert r["seconds"]["synth"] > 0 and r["seconds"]["pnr"] > 0 and r["seconds"]["pack"] > 0
    assert (prj / pnr.SYNTH_LOG).is_file()
    assert not [p for p in prj.iterdir() if p.name.startswith(".pnr-")]   # temp folder gone
    assert "Fmax" in routed["stdout"] and "TRELLIS_COMB" in routed["stdout"]


def test_measured_rtl_cycles_are_preferred_to_the_cycle_model(routed, tmp_path):
    assert routed["rc"] == 0, routed["stderr"]
    prj = copy_project(routed["prj"], tmp_path / "prj")
    assert pnr.cycles(prj)[2] == "latency.json"
    (prj / "rtl_sim_report.json").write_text(json.dumps(
        {"cycles_per_image": 801.0, "interval_between_images": 650.5, "images": 3}))
    assert pnr.cycles(prj) == (801.0, 650.5, "rtl_sim_report.json")
    stat = {"design": {"num_cells_by_type": {"LUT4": 10, "TRELLIS_FF": 3}}}
    nx = json.loads((routed["prj"] / pnr.NEXTPNR_REPORT).read_text())
    r = pnr.summarize(pnr.parse_part("LFE5U-85F-6BG381C"), 100.0, 1, "hire_snn", "ap_clk", stat,
                      nx, "", prj)
    assert r["cycles_from"] == "rtl_sim_report.json"
    assert r["latency_us"] == round(801.0 / r["fmax_mhz"], 3)
    assert r["interval_us"] == round(650.5 / r["fmax_mhz"], 3)
    assert (r["LUT4"], r["FF"], r["DP16KD"]) == (10, 3, 0)
    # block RAM bits stored (the design's, project.json) against allocated
    stat["design"]["num_cells_by_type"]["DP16KD"] = 2
    r = pnr.summarize(pnr.parse_part("LFE5U-85F-6BG381C"), 100.0, 1, "hire_snn", "ap_clk", stat,
                      nx, "", prj)
    stored = sum(json.loads((prj / "project.json").read_text())["memory_bits"].values())
    assert r["memory"] == {"bits_stored": stored, "bits_allocated": 2 * 18432,
                           "efficiency": round(stored / (2 * 18432), 3)}
    with pytest.raises(pnr.ToolError, match=r"no clock named 'clk_sys'; clocks: ap_clk"):
        pnr.summarize(pnr.parse_part("LFE5U-85F-6BG381C"), 100.0, 1, "hire_snn", "clk_sys",
                      stat, nx, "", prj)


@pytest.mark.parametrize("part,available", [("LFE5U-25F-6BG381C", 56), ("LFE5U-12F-6BG381C", 32)],
                         ids=["25F", "12F"])
def test_a_part_too_small_is_a_clear_error_and_leaves_no_report(routed, tmp_path, part,
                                                                   available):
    """The 25F: nextpnr cannot place all the block RAMs the 85F run used. The 12F: nextpnr
    would place it on the 25F die it shares; the command checks the 12F's data sheet (32
    DP16KD) first."""
    used = json.loads(routed["json"].read_text())["DP16KD"]
    assert used > 56
    limit = (f"of 56 ({100 * used / 56:.0f} %)" if available == 56
             else "of 32 (the LFE5U-12F's data sheet")
    prj = copy_project(routed["prj"], tmp_path / "prj")
    (prj / pnr.REPORT).write_text('{"stale": true}\n')
    rc, out, err = run([prj, "--part", part])
    assert rc == 2
    assert err.startswith(f"error: the design does not fit {part}: DP16KD {used} used {limit}"), err
    assert not (prj / pnr.REPORT).exists() and not (prj / pnr.NEXTPNR_REPORT).exists()
    assert not [p for p in prj.iterdir() if p.name.startswith(".pnr-")]
    assert "{" not in out                  # no report line printed


def test_nextpnrs_does_not_fit_message_is_parsed():
    """Text of a real nextpnr-ecp5 0.11 run (the design above on --25k)."""
    log = """Info: Device utilisation:
Info: \t          TRELLIS_IO:      58/    197    29%
Info: \t                DCCA:       1/     56     1%
Info: \t              DP16KD:      63/     56   112%
Info: \t          MULT18X18D:       2/     28     7%
Info: \t          TRELLIS_FF:    3078/  24288    12%
Info: \t        TRELLIS_COMB:    5311/  24288    21%
Info: \t        TRELLIS_RAMW:     109/   3036     3%

Info: Placed 0 cells based on constraints.
ERROR: Unable to place cell 'u_conv1.u_conv1_current_fifo.mem.0.0', no BELs remaining to \
implement cell type 'DP16KD'
0 warnings, 1 error
"""
    part = pnr.parse_part("LFE5U-25F-6BG381C")
    assert pnr.log_utilisation(log)["DP16KD"] == (63, 56)
    assert pnr.log_utilisation(log)["TRELLIS_COMB"] == (5311, 24288)
    msg = pnr.does_not_fit(log, part)
    assert msg.startswith("the design does not fit LFE5U-25F-6BG381C: DP16KD 63 used of 56 "
                          "(112 %) (nextpnr: Unable to place cell")
    assert "TRELLIS_COMB" not in msg
    # a cell type with no site left, without a table: still named
    assert pnr.does_not_fit("ERROR: Unable to place cell 'x', no BELs remaining to implement "
                            "cell type 'TRELLIS_IO'\n", part).startswith(
        "the design does not fit LFE5U-25F-6BG381C: TRELLIS_IO (no site left)")
    assert pnr.does_not_fit("ERROR: something else\n", part) is None


@pytest.mark.parametrize("name,args", [
    ("LFE5U-85F-6BG381C", ["--85k", "--package", "CABGA381", "--speed", "6"]),
    ("lfe5u-25f-8mg285i", ["--25k", "--package", "CSFBGA285", "--speed", "8"]),
    ("LFE5U-12F-6TG144C", ["--12k", "--package", "TQFP144", "--speed", "6"]),
    ("LFE5UM-45F-7BG554C", ["--um-45k", "--package", "CABGA554", "--speed", "7"]),
    ("LFE5UM5G-85F-8BG756", ["--um5g-85k", "--package", "CABGA756", "--speed", "8"]),
    ("LFE5U-45F-6BG256C", ["--45k", "--package", "CABGA256", "--speed", "6"]),
])
def test_part_names_become_nextpnr_flags(name, args):
    assert pnr.parse_part(name).nextpnr_args() == args


@pytest.mark.parametrize("argv,message", [
    (["--part", "XC7A100T-1CSG324C"], "unknown part 'XC7A100T-1CSG324C': expected LFE5U-<12|25"),
    (["--part", "LFE5UM-12F-6BG381C"], "unknown part 'LFE5UM-12F-6BG381C': LFE5UM comes in 25F"),
    (["--part", "LFE5U-85F-9BG381C"], "speed grade 9 is not 6, 7 or 8"),
    (["--part", "LFE5UM5G-85F-6BG381C"], "ECP5-5G parts (LFE5UM5G) are speed grade 8 only"),
    (["--part", "LFE5U-85F-6BG400C"], "unknown package BG400; ECP5 packages are BG256"),
    (["--mhz", "0"], "--mhz 0: expected a target clock in (0, 500] MHz"),
    (["--mhz", "501"], "--mhz 501: expected a target clock in (0, 500] MHz"),
    (["--mhz", "fast"], "--mhz 'fast': expected a frequency in MHz"),
    (["--seed", "-1"], "--seed -1: expected an integer >= 0"),
    (["--allow-unconstrained"], "--allow-unconstrained applies to an --lpf"),
])
def test_bad_settings_are_errors_before_any_tool_runs(small_project, argv, message):
    rc, out, err = run([small_project, *argv])
    assert rc == 2 and err.startswith("error: ") and message in err, err
    assert out == ""


def test_a_package_the_device_does_not_come_in_is_refused_by_nextpnr_before_synthesis(
        routed, tmp_path):
    prj = copy_project(routed["prj"], tmp_path / "prj")
    rc, out, err = run([prj, "--part", "LFE5U-85F-6TG144C"])
    assert rc == 2
    assert err == ("error: part LFE5U-85F-6TG144C (--85k --package TQFP144 --speed 6): nextpnr: "
                   "Unsupported package 'TQFP144' for 'LFE5U-85F'.\n")
    assert not (prj / pnr.SYNTH_LOG).exists() and "synth_ecp5" not in out


def test_an_lpf_reaches_nextpnr_which_requires_every_port_constrained(routed, tmp_path):
    """The ULX3S's 25 MHz oscillator pin for ap_clk, nothing else: nextpnr reads the LPF (it
    times ap_clk at the LPF's 25 MHz) and refuses the unconstrained AXI ports."""
    prj = copy_project(routed["prj"], tmp_path / "prj")
    lpf = tmp_path / "board.lpf"
    lpf.write_text('LOCATE COMP "ap_clk" SITE "G2";\nIOBUF PORT "ap_clk" IO_TYPE=LVCMOS33;\n'
                   'FREQUENCY PORT "ap_clk" 25 MHZ;\n')
    rc, out, err = run([prj, "--lpf", lpf])
    assert rc == 2
    assert re.match(r"error: the LPF leaves port \w+ unconstrained \(nextpnr stops", err), err
    log = (prj / pnr.PNR_LOG).read_text()
    assert "constraining clock net 'ap_clk' to 25.00 MHz" in log
    assert not (prj / pnr.REPORT).exists()
    rc, out, err = run([prj, "--lpf", tmp_path / "missing.lpf"])
    assert rc == 2 and "--lpf" in err and "no such file" in err


def test_no_project_is_an_error(tmp_path):
    rc, out, err = run([tmp_path / "missing"])
    assert rc == 2 and "no such RTL project folder" in err
    (tmp_path / "empty").mkdir()
    rc, out, err = run([tmp_path / "empty"])
    assert rc == 2 and err.startswith("error: ") and "no project.json" in err
    assert not (tmp_path / "empty" / pnr.REPORT).exists()
