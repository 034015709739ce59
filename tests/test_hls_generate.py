"""Generation: deterministic, atomic, and clear errors for what cannot be mapped (no g++)."""
from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import GeneratorError, RunError
from core.hw import config as hw_config
from core.random_ir import random_ir, random_network
from core.runs import load_network
from hls.generate import generate, main as generate_main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ir():
    return random_ir(seed=0)


@pytest.fixture(scope="module")
def net(ir):
    return random_network(seed=0)


def tree_hashes(d: Path) -> dict:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def test_layout_follows_hls4ml_conventions(tmp_path, ir, net):
    out = generate(net, tmp_path / "prj")
    files = set(tree_hashes(out))
    for f in ["firmware/hire_snn.cpp", "firmware/hire_snn.h", "firmware/parameters.h",
              "firmware/defines.h", "firmware/weights/w_conv1.h", "firmware/weights/w_conv2.h",
              "firmware/weights/w_readout.h", "firmware/snn_utils/snn_event.h",
              "tb_hire_snn.cpp", "build_prj.tcl", "project.tcl", "README.md", "hls_config.json",
              "latency.json", "project.json", "tb_data/tb_input_codes.dat",
              "tb_data/tb_expected.dat"]:
        assert f in files, f
    top = (out / "firmware/hire_snn.cpp").read_text()
    for pragma in ["#pragma HLS DATAFLOW", "#pragma HLS INTERFACE axis port = s_axis",
                   "#pragma HLS INTERFACE axis port = m_axis"]:
        assert pragma in top
    assert "snn::conv_direct_current<config_conv1_current>" in top
    assert "snn::conv_event<config_conv2>" in top
    assert "snn::readout_event<config_readout>" in top
    # register widths come from the IR
    defines = (out / "firmware/defines.h").read_text()
    model = ir[0]
    for i, L in enumerate(model["layers"]):
        stored = ["membrane", "acc"] + (["current"] if i == 0 else [])  # the first layer's current
        for f in stored:
            if f"{f}_bits" in L:
                assert f"typedef ap_int<{L[f + '_bits']}> {L['name']}_{f}_t;" in defines
    # no copy of the ap_types headers in the project
    assert not any("ap_int.h" in f or "hls_stream.h" in f for f in files)
    manifest = json.loads((out / "project.json").read_text())
    assert manifest["top"] == "hire_snn" and sorted(files) == manifest["files"]


def test_deterministic(tmp_path, ir, net):
    a = tree_hashes(generate(net, tmp_path / "a"))
    b = tree_hashes(generate(copy.deepcopy(ir[0]), tmp_path / "b", weights=ir[1]))
    again = tree_hashes(generate(net, tmp_path / "a"))
    assert a == b == again


def test_config_file_round_trips(tmp_path, net):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"layers": {"conv2": {"lanes": 8}}, "spike_rate": 0.1}))
    out = generate(net, tmp_path / "a", config=cfg)
    eff = json.loads((out / "hls_config.json").read_text())
    assert eff["layers"] == {"conv1": {"lanes": 16}, "conv2": {"lanes": 8}, "readout": {"lanes": 10}}
    assert eff["spike_rate"] == 0.1
    again = generate(net, tmp_path / "b", config=out / "hls_config.json")
    assert tree_hashes(out) == tree_hashes(again)
    assert "static const unsigned lanes = 8;" in (out / "firmware/parameters.h").read_text()


def unknown_kind(model):
    m = copy.deepcopy(model)
    m["layers"][2]["kind"] = "attention"
    return m


def too_wide(model):
    m = copy.deepcopy(model)
    m["layers"][0]["membrane_bits"] = 40
    return m


@pytest.mark.parametrize("edit,words", [
    (unknown_kind, ["conv2", "kind", "attention"]),
    (too_wide, ["conv1", "membrane_bits", "40"]),
])
def test_unmappable_ir_errors_before_writing(tmp_path, ir, edit, words):
    model, weights = ir
    out = tmp_path / "prj"
    with pytest.raises(GeneratorError) as e:
        generate(edit(model), out, weights=weights)
    for w in words:
        assert w in str(e.value)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []   # no temp folder left behind


def test_failed_generation_does_not_clobber_an_existing_project(tmp_path, ir, net):
    model, weights = ir
    out = generate(net, tmp_path / "prj")
    before = tree_hashes(out)
    with pytest.raises(GeneratorError):
        generate(too_wide(model), out, weights=weights)
    with pytest.raises(GeneratorError):
        generate(net, out, overrides={"layer_memory_kbits": 100})
    assert tree_hashes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prj"]


def test_memory_budget_names_the_layer(tmp_path, net):
    with pytest.raises(GeneratorError, match=r"conv1.*memory.*layer_memory_kbits"):
        generate(net, tmp_path / "prj", overrides={"layer_memory_kbits": 100})


@pytest.mark.parametrize("overrides,match", [
    ({"layers": {"conv2": {"lanes": 33}}}, r"conv2\.lanes.*1\.\.32"),
    ({"layers": {"conv2": {"lanes": 0}}}, r"conv2\.lanes"),
    ({"layers": {"conv9": {"lanes": 4}}}, r"conv9.*no layer"),
    ({"layers": {"pool1": {"lanes": 4}}}, r"pool1.*one knob, kernel"),
    ({"layers": {"conv2": {"kernel": "pool_or"}}},
     r"conv2\.kernel: 'pool_or' cannot implement this layer \(its kernel is conv_event"),
    ({"layers": {"conv2": {"reuse": 4}}}, r"conv2\.reuse.*unknown"),
    ({"clok_mhz": 100}, r"clok_mhz.*unknown"),
    ({"spike_rate": 1.5}, r"spike_rate"),
    ({"fifo_depth": 1}, r"fifo_depth"),
    ({"fifo_depth": "deep"}, r"fifo_depth"),
])
def test_bad_settings(tmp_path, net, overrides, match):
    with pytest.raises(GeneratorError, match=match):
        generate(net, tmp_path / "prj", overrides=overrides)
    assert not (tmp_path / "prj").exists()


def test_ir_errors_become_generator_errors(tmp_path, ir):
    model, weights = copy.deepcopy(ir)
    weights = dict(weights)
    weights["conv2"] = np.full_like(weights["conv2"], 100)  # beyond 4-bit narrow range
    with pytest.raises(GeneratorError, match=r"invalid IR: .*weights"):
        generate(model, tmp_path / "prj", weights=weights)


def test_missing_run_says_how_to_make_one(tmp_path, capsys):
    with pytest.raises(RunError, match=r"python train/run.py --quant 4bit"):
        load_network(tmp_path / "no_run")
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(RunError, match=r"no IR here.*python train/run.py --quant 4bit"):
        load_network(tmp_path / "empty_run")
    assert generate_main([str(tmp_path / "no_run"), "--out", str(tmp_path / "o")]) == 2
    assert "python train/run.py --quant 4bit" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_defaults_run_folder_and_out(tmp_path, net):
    """Run from a project root: runs/latest (a link) in, build/hls_prj out."""
    run = tmp_path / "runs" / "r1"
    net.save(run / "ir")
    os.symlink("r1", tmp_path / "runs" / "latest")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "hls.generate"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "build/hls_prj/firmware/hire_snn.cpp").is_file()
    assert "us per image" in p.stdout
    h = subprocess.run([sys.executable, "-m", "hls.generate", "--help"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert "runs/latest" in h.stdout and "build/hls_prj" in h.stdout and "--config" in h.stdout
    # an IR folder works as well as a run folder
    assert generate_main([str(run / "ir"), "--out", str(tmp_path / "o2")]) == 0


def test_defaults_are_documented_settings():
    d = hw_config.load()
    assert d["clock_mhz"] == 200.0 and 0 < d["spike_rate"] <= 1
