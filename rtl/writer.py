"""Spell a Design as a Verilog (SystemVerilog) project: hand-written kernels, a generated top.

The kernels are parameterized modules in rtl/hdl (copied into the project verbatim, like
finn-rtllib); this module only decides their parameters, the FIFOs between them and the weight
ROM images, all from the target-neutral Design (core.hw). The top `hire_snn` has the ports
Vivado HLS exports for the HLS top (ap_clk, ap_rst_n, s_axis_T*, m_axis_T*) and instantiates
one wrapper module per IR layer, `hire_snn_<layer>`, holding that layer's kernels and the FIFOs
they write (so Yosys reports area per layer). Weights are $readmemh files under weights/, read
relative to the project folder (the working folder of simulation and synthesis).
Rendering is pure and the project is written atomically, like the HLS backend.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from core.hw.backend import generator_fingerprint, write_files
from core.hw import cycles
from core.hw.design import Design, Process, Stream
from core.hw.kernels import kernel
from rtl.kernels import spelling, weight_file
from rtl.variants import library_variants

TOP = "hire_snn"
HDL = Path(__file__).parent / "hdl"
TEMPLATES = Path(__file__).parent / "templates"
PROJECT_FORMAT = "hire-snn-rtl-project"
LIBRARY = sorted(f.name for f in HDL.glob("snn_*.sv"))   # the hand-written kernel library
AXIS_IN_W, AXIS_OUT_W = 9, 33       # {TLAST, TDATA}


@dataclass
class Port:
    dir: str
    width: int
    name: str


@dataclass
class Wire:
    width: int
    name: str


@dataclass
class Instance:
    module: str
    name: str
    params: list
    conns: list
    comment: str = ""


@dataclass
class Module:
    name: str
    comment: str
    ports: list = field(default_factory=list)
    wires: list = field(default_factory=list)
    assigns: list = field(default_factory=list)
    instances: list = field(default_factory=list)


def _sv(v) -> str:
    """A parameter value: a string quoted; an integer as an unsized literal (a 32-bit int), or
    sized to 64 bits beyond int's range (a 32-bit membrane's threshold 2^31, a longint)."""
    if isinstance(v, str):
        return f'"{v}"'
    v = int(v)
    return str(v) if -(1 << 31) <= v < (1 << 31) else f"{'-' if v < 0 else ''}64'sd{abs(v)}"


# ---- kernel parameters and ROM images (each kind's spelling: rtl/kernels) ----------------------
def kernel_params(p: Process) -> list:
    """The SystemVerilog parameters of a process's kernel module, in declaration order."""
    return [(name, _sv(v)) for name, v in spelling(p.kernel).params(p).items()]


def rom_words(p: Process) -> tuple[list[int], int]:
    """The ROM of a process as (words in address order, word bits), holes filled with zeros."""
    return spelling(p.kernel).rom_words(p)


def hex_text(words: list[int], bits: int) -> str:
    digits = max(1, -(-bits // 4))
    return "".join(f"{x:0{digits}x}\n" for x in words)


# ---- structure ----------------------------------------------------------------------------------
def _fifo(s: Stream, slack: int) -> Instance:
    return Instance("snn_fifo", f"u_{s.name}_fifo",
                    [("W", _sv(s.word_bits)), ("DEPTH", _sv(s.depth)), ("SLACK", _sv(slack))],
                    [("clk", "clk"), ("rst_n", "rst_n"), ("in_data", f"{s.name}_d"),
                     ("in_valid", f"{s.name}_v"), ("in_room", f"{s.name}_room"),
                     ("out_data", f"{s.name}_q"), ("out_valid", f"{s.name}_qv"),
                     ("out_ready", f"{s.name}_qr")],
                    f"{s.name}: {s.kind}, depth {s.depth} (worst case {s.worst_tokens} per "
                    f"{'timestep' if s.kind == 'spikes' else 'image'})")


def slack(design: Design, s: Stream) -> int:
    """A producer checks in_room when it issues and writes `pipe` cycles later, while the FIFO
    counts a write one cycle after it: pipe + 1 words may be in flight (flags: written at once)."""
    if s.kind == "flag":
        return 1
    producer = design.process(s.producer) if s.kind != "result" else design.processes[-1]
    return kernel(producer.kernel).pipe + 1


def _stream_signals(s: Stream) -> dict:
    w = s.word_bits
    return {f"{s.name}_d": w, f"{s.name}_v": 1, f"{s.name}_room": 1, f"{s.name}_q": w,
            f"{s.name}_qv": 1, f"{s.name}_qr": 1}


def result_stream(design: Design) -> Stream:
    """The result FIFO before m_axis: {TLAST, TDATA} words, two results deep."""
    k = design.classes + 1
    last = design.processes[-1]
    return Stream(name="result", kind="result", producer=last.name, consumer="m_axis",
                  layer=last.layer.name, word_bits=AXIS_OUT_W, depth=max(4, 2 * k),
                  worst_tokens=k)


def layer_modules(design: Design) -> list[Module]:
    """One wrapper per IR layer: its kernels and the FIFOs they write. A FIFO's write side
    stays inside its layer; its read side is a port when another layer (or m_axis) reads it."""
    res = result_stream(design)
    streams = {s.name: s for s in [*design.streams, res]}
    top_ports = {"s_axis_TDATA": ("input", 8), "s_axis_TVALID": ("input", 1),
                 "s_axis_TREADY": ("output", 1), "s_axis_TLAST": ("input", 1)}
    mods = []
    for L in design.network.layers:
        procs = [p for p in design.processes if p.layer.name == L.name]
        names = {p.name for p in procs}
        own = [s for s in streams.values() if s.layer == L.name]
        insts = [Instance(spelling(p.kernel).module, f"u_{p.name}", kernel_params(p),
                          spelling(p.kernel).conns(p, res.name), p.comment) for p in procs]
        insts += [_fifo(s, slack(design, s)) for s in own]
        ports = [Port("input", 1, "clk"), Port("input", 1, "rst_n")]
        wires, done = [], {"clk", "rst_n"}
        for _, sig in (c for i in insts for c in i.conns):
            if sig in done:
                continue
            done.add(sig)
            if sig in top_ports:
                ports.append(Port(top_ports[sig][0], top_ports[sig][1], sig))
                continue
            name, part = sig.rsplit("_", 1)
            s = streams[name]
            width = s.word_bits if part in ("d", "q") else 1
            inside = s.layer == L.name and (part in ("d", "v", "room") or s.consumer in names)
            if inside:
                wires.append(Wire(width, sig))
            elif s.layer == L.name:                     # our FIFO, read by another layer
                ports.append(Port("input" if part == "qr" else "output", width, sig))
            else:                                       # another layer's FIFO, read here
                ports.append(Port("output" if part == "qr" else "input", width, sig))
        mods.append(Module(f"{TOP}_{L.name}", f"layer {L.name} ({L.kind}): "
                           + ", ".join(p.kernel for p in procs), ports, wires, [], insts))
    return mods


def top_module(design: Design, layers: list[Module]) -> Module:
    res = result_stream(design)
    ports = [Port("input", 1, "ap_clk"), Port("input", 1, "ap_rst_n"),
             Port("input", 8, "s_axis_TDATA"), Port("input", 1, "s_axis_TVALID"),
             Port("output", 1, "s_axis_TREADY"), Port("input", 1, "s_axis_TLAST"),
             Port("input", 1, "s_axis_TKEEP"), Port("input", 1, "s_axis_TSTRB"),
             Port("output", 32, "m_axis_TDATA"), Port("output", 1, "m_axis_TVALID"),
             Port("input", 1, "m_axis_TREADY"), Port("output", 1, "m_axis_TLAST"),
             Port("output", 4, "m_axis_TKEEP"), Port("output", 4, "m_axis_TSTRB")]
    wires, seen = [Wire(1, "unused_keep_strb")], set()
    insts = []
    for m in layers:
        conns = [("clk", "ap_clk"), ("rst_n", "ap_rst_n")]
        for p in m.ports[2:]:
            conns.append((p.name, p.name))
            if not p.name.startswith("s_axis_") and p.name not in seen:
                seen.add(p.name)
                wires.append(Wire(p.width, p.name))
        insts.append(Instance(m.name, f"u_{m.name[len(TOP) + 1:]}", [], conns))
    for sig, w in ((f"{res.name}_q", AXIS_OUT_W), (f"{res.name}_qv", 1), (f"{res.name}_qr", 1),
                   ("m_axis_word", AXIS_OUT_W)):
        if sig not in seen:
            wires.append(Wire(w, sig))
    # a register slice between the result FIFO and the ports
    insts.append(Instance("snn_axis_reg", "u_m_axis_reg", [("W", _sv(AXIS_OUT_W))],
                          [("clk", "ap_clk"), ("rst_n", "ap_rst_n"),
                           ("s_data", f"{res.name}_q"), ("s_valid", f"{res.name}_qv"),
                           ("s_ready", f"{res.name}_qr"), ("m_data", "m_axis_word"),
                           ("m_valid", "m_axis_TVALID"), ("m_ready", "m_axis_TREADY")],
                          "m_axis: registered outputs, registered ready upstream"))
    assigns = [("m_axis_TDATA", "m_axis_word[31:0]"), ("m_axis_TLAST", "m_axis_word[32]"),
               ("m_axis_TKEEP", "4'hf"), ("m_axis_TSTRB", "4'hf"),
               ("unused_keep_strb", "s_axis_TKEEP ^ s_axis_TSTRB")]
    return Module(TOP, f"top: {design.network.summary()}; ports as Vivado HLS exports them",
                  ports, wires, assigns, insts)


def _render(modules: list[Module], header: str) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    body = env.get_template("module.sv.j2").render(modules=modules)
    return header + "\n" + body


def render(design: Design) -> dict:
    """All project files as {relative path: text}."""
    net = design.network
    files = {f"hdl/{name}": (HDL / name).read_text() for name in LIBRARY}
    variant_files, variants = library_variants()
    files.update(variant_files)
    layers = layer_modules(design)
    header = (f"// {TOP}.sv: generated by `python -m rtl.generate` from an IR with sha256 "
              f"{net.sha256[:16]}...\n// {net.summary()}; do not edit: regenerate.\n"
              "// verilator lint_off DECLFILENAME\n")
    files[f"hdl/{TOP}.sv"] = _render([*layers, top_module(design, layers)], header)
    files["hdl/dut_top.sv"] = (TEMPLATES / "dut_top_axis.sv").read_text()
    for p in design.processes:
        if p.weights is not None:
            words, bits = rom_words(p)
            files[weight_file(p)] = hex_text(words, bits)
    lat = cycles.analytic(design)
    files["latency.json"] = json.dumps(lat, indent=2, sort_keys=True) + "\n"
    if design.folding:
        files["folding.json"] = json.dumps(design.folding, indent=2, sort_keys=True) + "\n"
    files["rtl_config.json"] = json.dumps(design.settings, indent=2, sort_keys=True) + "\n"
    sources = [f"hdl/{n}" for n in LIBRARY] + [f"hdl/{TOP}.sv"]
    manifest = {
        "format": PROJECT_FORMAT, "version": 1, "top": TOP, "ir_sha256": net.sha256,
        "generator_sha256": generator_fingerprint(Path(__file__).parent),
        "sources": sources, "variants": variants, "dut_top": "hdl/dut_top.sv",
        "in_w": AXIS_IN_W, "out_w": AXIS_OUT_W,
        "in_shape": list(net.in_shape), "n_inputs": net.n_inputs, "classes": net.classes,
        "timesteps": net.timesteps, "layers": [L.name for L in net.layers],
        "lanes": design.lanes,
        # bits each layer stores on chip for block RAM (memories and the FIFOs it writes, not
        # the memories its kernels put in LUT RAM): rtl.synth and rtl.pnr set them against the
        # block RAM bits allocated
        "memory_bits": design.memory_bits_per_layer(lutram=False),
        "lutram_bits": {k: v - design.memory_bits_per_layer(lutram=False)[k]
                        for k, v in design.memory_bits_per_layer().items()},
    }
    files["project.json"] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    files["README.md"] = _readme(design, lat)
    return files


def _readme(design: Design, lat: dict) -> str:
    net = design.network
    rows = "\n".join(f"| {p.name} | {p.kernel} | `{spelling(p.kernel).module}` | "
                     f"{p.params.get('lanes', '-')} |" for p in design.processes)
    return f"""# {TOP}: RTL project of a HIRE-SNN network

Generated by `python -m rtl.generate` (IR sha256 `{net.sha256}`); do not edit, regenerate.
Network: {net.summary()}, {net.classes} classes.

- `hdl/`: the kernel library (hand-written, parameterized) and the generated top `{TOP}.sv`
  (one `{TOP}_<layer>` wrapper per layer); `dut_top.sv` adapts the top to the stream harness.
- `hdl/ecp5/`: the ECP5 variants of library modules (project.json `variants`; the ECP5 flow
  synthesizes them in place of the generic ones) and, in `hdl/ecp5/sim/`, behavioural models
  of the ECP5 primitives they use, to simulate them.
- `weights/`: one `$readmemh` image per weight layer, read relative to this folder.
- `latency.json`: the cycle model; `rtl_config.json`: the settings it was built with.

| process | kernel | module | lanes |
|---|---|---|---|
{rows}

Ports: `ap_clk`, `ap_rst_n`, `s_axis_T{{DATA,VALID,READY,LAST,KEEP,STRB}}` (8-bit codes, one
frame of {net.n_inputs} beats per image), `m_axis_T{{DATA,VALID,READY,LAST,KEEP,STRB}}` (class
word, bit 31 = malformed frame, then {net.classes} accumulators). Simulate with
`make rtl-sim`, synthesize with `make synth` (Yosys). Cycle model at a spike rate of
{lat['assumptions']['spike_rate']}: {lat['cycles_per_image']} cycles per image, one image every
{lat['interval_between_images']} cycles.
"""


def write(design: Design, out_dir) -> Path:
    """Render everything, then replace out_dir whole with the new project."""
    return write_files(render(design), out_dir)


# ---- single-process projects (module tests) --------------------------------------------------------
def process_top(design: Design, name: str) -> tuple[str, int, int]:
    """dut_top.sv wrapping one process for the stream harness: its input stream comes straight
    from the harness, its output through a FIFO (so the kernel sees in_room as in the network).
    Returns (text, in width, out width). First-layer kernels read AXI4-Stream words {TLAST, code};
    a readout writes {TLAST, word}; its malformed-frame flag input is tied to 0."""
    p = design.process(name)
    res = result_stream(design)
    k = kernel(p.kernel)
    in_w = AXIS_IN_W if k.reads_input else p.in_stream.word_bits
    out = res if k.writes_result else p.out_stream
    out_w = out.word_bits
    conns = dict(spelling(p.kernel).conns(p, res.name))
    lines = []
    sig = {}
    if k.reads_input:
        sig.update({"s_axis_TDATA": "in_data[7:0]", "s_axis_TVALID": "in_valid",
                    "s_axis_TREADY": "in_ready", "s_axis_TLAST": "in_data[8]"})
        f = p.flag_out.name
        lines += [f"    logic {f}_d, {f}_v;", f"    assign {f}_room = 1'b1;",
                  "    logic unused_flag;", f"    assign unused_flag = {f}_d ^ {f}_v;"]
        lines.insert(0, f"    logic {f}_room;")
    else:
        i = p.in_stream.name
        sig.update({f"{i}_q": "in_data", f"{i}_qv": "in_valid", f"{i}_qr": "in_ready"})
    if p.flag_in is not None:
        f = p.flag_in.name
        lines += [f"    logic {f}_qr;", "    logic unused_flag;", f"    assign unused_flag = {f}_qr;"]
        sig.update({f"{f}_q": "1'b0", f"{f}_qv": "1'b1"})
    o = out.name
    lines += [f"    logic [{out_w - 1}:0] {o}_d;", f"    logic {o}_v, {o}_room;"]
    sig.update({f"{o}_q": "out_data", f"{o}_qv": "out_valid", f"{o}_qr": "out_ready"})
    params = ",\n".join(f"        .{k}({v})" for k, v in kernel_params(p))
    ports = ",\n".join(f"        .{port}({sig.get(s, s)})" for port, s in conns.items())
    fifo = _fifo(out, kernel(p.kernel).pipe + 1)
    fparams = ", ".join(f".{k}({v})" for k, v in fifo.params)
    fports = ", ".join(f".{port}({sig.get(s, s)})" for port, s in fifo.conns)
    body = "\n".join(lines)
    text = f"""// dut_top: process {name} ({p.kernel}) alone, for the stream harness (module tests).
// verilator lint_off DECLFILENAME
module dut_top #(
    parameter int IN_W = {in_w},
    parameter int OUT_W = {out_w}
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [IN_W-1:0] in_data,
    input  logic in_valid,
    output logic in_ready,
    output logic [OUT_W-1:0] out_data,
    output logic out_valid,
    input  logic out_ready
);
{body}
    {spelling(p.kernel).module} #(
{params}
    ) u_kernel (
{ports}
    );
    snn_fifo #({fparams}) u_out ({fports});
endmodule
"""
    return text, in_w, out_w


def write_process(design: Design, name: str, out_dir) -> Path:
    """A project folder holding one process of the design (the same layout as write())."""
    files = render(design)
    text, in_w, out_w = process_top(design, name)
    files["hdl/dut_top.sv"] = text
    manifest = json.loads(files["project.json"])
    p = design.process(name)
    manifest.update(process=name, kernel=p.kernel, in_w=in_w, out_w=out_w,
                    sources=[f"hdl/{n}" for n in LIBRARY])
    files["project.json"] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    del files[f"hdl/{TOP}.sv"]
    return write_files(files, out_dir)
