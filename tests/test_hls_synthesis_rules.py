"""The HLS C++ follows the rules that make C-sim and synthesis agree (UG1399), checked where a
test can see them: on the generated code, and in a C simulation that reads stale RAM words.

Vivado HLS is not installed here, so each rule is proven by design: a read-modify-write loop
forwards every in-flight write (a C-sim whose RAM writes land late stays bit-exact, and is not
without the forwarding), dependences declared false are false, no divider or modulo sits on a
run-time value, every data-dependent loop has a trip count, stream depths follow the design.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from tests.conftest import fmnist_test

from core import golden
from core.errors import GeneratorError
from core.hw.mapping import design_of
from core.random_ir import random_network
from hls.generate import generate
from hls.project import HLSProject
from hls.writer import LIBRARY


def _code(text: str) -> str:
    """C++ without comments and string literals."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r'"[^"\n]*"', '""', text)


@pytest.fixture(scope="module")
def library():
    return {p.name: _code(p.read_text()) for p in sorted(LIBRARY.glob("*.h"))}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return generate(random_network(seed=0), tmp_path_factory.mktemp("prj") / "prj")


NESTED = ("Banks",)  # labels of unrolled loops inside a pipelined one


def _loops(code: str):
    """(label, text up to the next loop label that is not nested in it) of every labelled loop."""
    marks = [(m.group(1), m.start()) for m in re.finditer(r"^\s*(\w+):\s*$", code, flags=re.M)]
    out = []
    for i, (label, start) in enumerate(marks):
        if label in NESTED:
            continue
        end = next((s for lb, s in marks[i + 1:] if lb not in NESTED), len(code))
        out.append((label, code[start:end]))
    return out


def test_no_division_or_modulo_in_kernels(library):
    for name, code in library.items():
        assert not re.search(r"[^/*]/[^/*=]", code.replace("#include", "")), name
        assert "%" not in code, name


def test_no_dependence_declared_false_on_a_read_modify_write(library):
    """Scatter and pool loops forward their writes and declare the dependence true at the
    distance beyond the forwarding; `inter false` only where every iteration owns its word."""
    for name, code in library.items():
        for label, body in _loops(code):
            falsedeps = re.findall(r"DEPENDENCE variable = (\w+) inter false", body)
            if label.startswith(("Scatter", "Slices")):
                assert not falsedeps, (name, label)
                assert "distance = snn::FWD_DEPTH + 1 true" in body, (name, label)
                assert "fwd_lookup" in body and "fwd_push" in body, (name, label)
            if label.startswith(("Fire", "FirePass")):
                assert falsedeps, (name, label)


def test_every_data_dependent_loop_has_a_trip_count(library):
    for name, code in library.items():
        for m in re.finditer(r"\n\s*(while \(|for \(;;\))", code):
            head = code[m.start():m.start() + 400]
            assert "LOOP_TRIPCOUNT" in head.split("\n\n")[0] or "LOOP_TRIPCOUNT" in head, (name, head[:80])


def test_no_32_bit_counters_on_pipelined_loops(library):
    """Loop counters of pipelined loops are sized ap_uint (only unrolled loops use int)."""
    for name, code in library.items():
        for m in re.finditer(r"for \((unsigned|int) [^\n]*\n(\s*#pragma HLS \w+)", code):
            assert "UNROLL" in m.group(2), (name, m.group(0))


def test_conv_taps_are_read_with_constant_indices(library):
    code = library["snn_event.h"]
    assert "taps[ky][kx][l] = w[c][og][ky][kx][l]" in code
    assert "w[c][og][ky][kx]" not in code.split("Banks:")[1].split("next_spike_group")[0]


def test_stream_depths_follow_the_design(project):
    design = design_of(random_network(seed=0))
    top = (project / "firmware" / "hire_snn.cpp").read_text()
    for s in design.streams:
        assert f"#pragma HLS STREAM variable = {s.name} depth = {s.depth}" in top
    cur = design.process("conv1_current").out_stream
    assert cur.depth == 28 * 28 * 1       # a whole image of current vectors: images overlap
    for s in design.spike_streams:
        assert s.depth >= s.spikes.positions * s.spikes.groups + 1  # a whole timestep of slices


@pytest.mark.parametrize("layers,kw", [("r", dict(timesteps=2)), ("f24 r", {}),
                                        ("c4 p2 r", {}), ("c16 p2 c32 p2 r", {})])
def test_no_stream_shallower_than_a_pipelined_writer_needs(layers, kw):
    """A writer that issues PIPE cycles before its write lands needs MIN_DEPTH words of room;
    a first layer of one or two lane groups (the readout alone) once got a 1-word stream,
    which the RTL FIFO's elaboration check refuses."""
    from core.hw.mapping import MIN_DEPTH
    design = design_of(random_network(layers, seed=1, **kw))
    for s in design.streams:
        if s.kind != "flag":
            assert s.depth >= MIN_DEPTH, (s.name, s.depth)


def test_block_protocol_chain_not_hs(tmp_path):
    net = random_network("c4 p2 r", seed=1)
    out = generate(net, tmp_path / "a", overrides={"block_protocol": "ap_ctrl_chain"})
    assert "#pragma HLS INTERFACE ap_ctrl_chain port = return" in (out / "firmware/hire_snn.cpp").read_text()
    with pytest.raises(GeneratorError, match="ap_ctrl_hs serializes"):
        generate(net, tmp_path / "b", overrides={"block_protocol": "ap_ctrl_hs"})


@pytest.mark.parametrize("layers,lanes", [("c16 p2 c32 p2 r", {}),          # groups 2: distance 2
                                          ("c8 p2 c8 p2 f8 r", {"conv2": 8}),  # groups 1: distance 1
                                          ("c8 p2 f24 r", {"dense1": 8})])     # dense, groups 3
def test_late_ram_writes_stay_bit_exact_only_with_forwarding(tmp_path, layers, lanes):
    """A C-sim whose RMW writes land FWD_DEPTH writes late equals the golden model; the same
    C-sim without forwarding does not: the forwarding is what keeps C-sim == synthesis."""
    codes, _ = fmnist_test(24)
    net = random_network(layers, seed=4, v_th=0.3)
    ov = {"layers": {k: {"lanes": v} for k, v in lanes.items()}}
    acc, pred = golden.predict(net, codes)
    late = HLSProject.from_ir(net, tmp_path / "late", overrides=ov, cache_dir=tmp_path / "c",
                              defines=["SNN_EMULATE_RAM_LATENCY"])
    r = late.run(codes, trace=False)
    np.testing.assert_array_equal(r.acc, acc)
    broken = HLSProject(tmp_path / "late", tmp_path / "c",
                        defines=["SNN_EMULATE_RAM_LATENCY", "SNN_NO_FORWARDING"])
    assert (broken.run(codes, trace=False).acc != acc).any()
