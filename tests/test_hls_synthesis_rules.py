"""The HLS C++ follows the rules that make C-sim and synthesis agree (UG1399), checked where a
test can see them: on the generated code, and in a C simulation that reads stale RAM words.

Vivado HLS is not installed here, so each rule is proven by design: a read-modify-write loop
forwards every in-flight write (a C-sim whose RAM writes land late stays bit-exact, and is not
without the forwarding), dependences declared false are false, no divider or modulo sits on a
run-time value, every data-dependent loop has a trip count, stream depths follow the design,
state memories are wide words swept after a reset, and pragma arguments are integer literals.
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
from hls import writer
from hls.generate import generate
from hls.project import HLSProject


def _code(text: str) -> str:
    """C++ without comments and string literals."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r'"[^"\n]*"', '""', text)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return generate(random_network(seed=0), tmp_path_factory.mktemp("prj") / "prj")


@pytest.fixture(scope="module")
def library(project):
    """The kernel library as generated (the writer fills in its pragma literals)."""
    return {p.name: _code(p.read_text())
            for p in sorted((project / "firmware" / "snn_utils").glob("*.h"))}


def _functions(code: str) -> dict:
    """{name: text} of every function template in a header."""
    out = {}
    for chunk in code.split("\ntemplate <")[1:]:
        m = re.search(r"\b(\w+)\s*\(", chunk.split(">", 1)[1])
        if m:
            out[m.group(1)] = chunk
    return out


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
                assert f"distance = {writer.RMW_DISTANCE} true" in body, (name, label)
                assert "fwd_lookup" in body and "fwd_push" in body, (name, label)
            if label.startswith(("Fire", "FirePass")):
                assert falsedeps, (name, label)


def test_dependence_distances_are_integer_literals_past_the_forwarding(project, library):
    """DEPENDENCE's distance takes an integer (UG1399), not an expression: every one generated is
    a literal, FWD_DEPTH + 1 (the first distance the history of FWD_DEPTH writes does not
    serve, as the C++ compiles it), on a true RAW dependence."""
    depth = re.search(r"static const int FWD_DEPTH = (\d+);", library["snn_common.h"])
    assert depth and int(depth.group(1)) == writer.FWD_DEPTH
    found = []
    for f in sorted((project / "firmware").rglob("*.[ch]*")):
        for m in re.finditer(r"#pragma HLS DEPENDENCE ([^\n]*)", _code(f.read_text())):
            if "distance" in m.group(1):
                d = re.fullmatch(r"variable = \w+ inter RAW distance = (\S+) true", m.group(1))
                assert d and re.fullmatch(r"[1-9][0-9]*", d.group(1)), (f.name, m.group(0))
                assert int(d.group(1)) == int(depth.group(1)) + 1, (f.name, m.group(0))
                found.append(f.name)
    # conv and dense scatters, the pool's two memories
    assert sorted(found) == ["snn_event.h", "snn_event.h", "snn_pool.h", "snn_pool.h"]


def test_state_memories_are_wide_words(library):
    """A memory of per-lane state keeps its `lanes` values in one wide word per address, as the
    RTL does: ARRAY_RESHAPE on the lane dimension, never ARRAY_PARTITION (a conv would split into
    k * k * lanes small memories: 144 in the default network). The conv's k x k banks stay
    apart (partitioned): one spike updates all of them in one cycle."""
    decl = re.compile(r"static [\w:<>, ]+? (\w+)((?:\[[^\]\n]+\])+);")
    seen = []
    for name, code in library.items():
        for fn, body in _functions(code).items():
            for m in decl.finditer(body):
                dims = re.findall(r"\[([^\]]+)\]", m.group(2))
                if "CONFIG::lanes" not in dims:
                    continue
                var, d = m.group(1), dims.index("CONFIG::lanes") + 1
                assert f"ARRAY_RESHAPE variable = {var} complete dim = {d}\n" in body, (fn, var)
                assert f"ARRAY_PARTITION variable = {var} complete dim = {d}\n" not in body
                seen.append((fn, var))
    assert sorted(seen) == [("conv_event", "mem"), ("dense_event", "mem"), ("lif_direct", "cur"),
                            ("lif_direct", "mem"), ("readout_direct", "acc"),
                            ("readout_event", "acc")]
    conv = _functions(library["snn_event.h"])["conv_event"]
    assert re.findall(r"ARRAY_\w+ variable = mem complete dim = \d", conv) == [
        "ARRAY_PARTITION variable = mem complete dim = 1",
        "ARRAY_PARTITION variable = mem complete dim = 2",
        "ARRAY_RESHAPE variable = mem complete dim = 4"]


def test_state_is_swept_after_a_reset(library):
    """ap_rst_n leaves memories as they are: each kernel whose memories must start an image at
    zero sweeps them (one word per cycle, II=1: no whole-array clear) before its first image
    after a reset, behind a flag that only ap_rst_n clears (RESET pragma). The C-sim side of it
    is test_hls_csim.py::test_reset_in_mid_image_then_the_next_image_is_bit_exact."""
    sweeps = {"conv_event": "ClearMembranes", "dense_event": "clear_words",
              "pool_or": "clear_stamps", "readout_event": "clear_words"}
    funcs = {fn: body for code in library.values() for fn, body in _functions(code).items()}
    flagged = sorted(fn for fn, body in funcs.items() if "static bool" in body)
    assert flagged == sorted(sweeps)
    for fn, sweep in sweeps.items():
        body = funcs[fn]
        assert re.search(r"static bool clean = false;\s*#pragma HLS RESET variable = clean\s*"
                         r"SNN_CSIM_RESET\(clean\);\s*if \(!clean\) \{\s*" + sweep, body), fn
    loops = dict(lp for code in library.values() for lp in _loops(code))
    for label in ("ClearMembranes", "ClearWords", "ClearStamps"):
        assert "#pragma HLS PIPELINE II = 1" in loops[label], label
        assert re.search(r"\] = 0;", loops[label]), label


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
