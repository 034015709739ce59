"""Spell a Design as an HLS project folder (hls4ml's layout), atomically.

The Design (core.hw) holds numbers only; this module turns them into C++: `ap_int<N>` register
types, one config struct per process (the kernel's parameters, the loop trip counts a synthesis
report needs, constant tables instead of dividers), `hls::stream` token types and the weight
headers. Rendering is pure: the same IR and settings give byte-identical files (no timestamps,
no paths, sorted JSON). All files are rendered in memory first, then written into a temporary
folder beside the target that replaces it whole (core.atomic.atomic_dir).
"""
from __future__ import annotations

import json
from pathlib import Path

import jinja2
import numpy as np

from core import golden
from core.hw.backend import generator_fingerprint, write_files
from core.frames import codes_text, result_words, sample_images
from core.hw import cycles
from core.hw.design import Design, Process
from hls.kernels import spelling

TOP = "hire_snn"
TEMPLATES = Path(__file__).parent / "templates"
LIBRARY = TEMPLATES / "firmware" / "snn_utils"
NUMBERS_PER_LINE = 24
PROJECT_FORMAT = "hire-snn-hls-project"
# Writes each read-modify-write memory forwards from registers (snn_common.h): a block RAM read
# latency of 1 plus a registered write. A word recurs at distance `groups` (or 1) and beyond, so
# the scatter and pool loops declare the dependence true at the first distance not forwarded.
FWD_DEPTH = 2
RMW_DISTANCE = FWD_DEPTH + 1
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)


def to_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def _weight_lines(values: np.ndarray) -> list[str]:
    flat = values.reshape(-1).tolist()
    return [", ".join(map(str, flat[i:i + NUMBERS_PER_LINE])) + ","
            for i in range(0, len(flat), NUMBERS_PER_LINE)]


def stream_type(s) -> str:
    if s.kind == "spikes":
        m = s.spikes
        return f"snn::spike_slice<{m.slice}, {m.y_bits}, {m.x_bits}, {m.g_bits}>"
    if s.kind == "current":
        return f"snn::lane_vec<{s.layer}_current_t, {s.lanes}>"
    return "bool"


def stream_ctype(s) -> str:
    return {"spikes": f"{s.name}_t", "current": f"{s.name}_vec_t", "flag": "bool"}[s.kind]


def register_types(p: Process) -> dict:
    """Struct typedef -> (defines.h name, C++ type) of a process's registers."""
    out = {}
    for key, bits in p.widths.items():
        t = key[:-len("_bits")] + "_t"
        ctype = f"ap_uint<{bits}>" if key == "code_bits" else f"ap_int<{bits}>"
        out[t] = (f"{p.layer.name}_{t}", ctype)
    return out


def render(design: Design) -> dict:
    """All project files as {relative path: text}."""
    net = design.network
    env = _env()
    sha = net.sha256
    readout = net.readout
    procs = []
    layer_types = {}
    for p in design.processes:
        spell = spelling(p.kernel)
        params, tables = spell.params(p, design)
        types = register_types(p)
        for ref, ctype in types.values():
            layer_types.setdefault(ref, ctype)
        procs.append(dict(name=p.name, config=f"config_{p.name}", kernel=spell.function,
                          comment=p.comment, params=params, tables=tables,
                          types={t: ref for t, (ref, _) in types.items()},
                          args=spell.call_args(p)))
    streams = [dict(name=s.name, ctype=stream_ctype(s), typedef=stream_type(s), depth=s.depth,
                    kind=s.kind) for s in design.streams]
    trace = design.spike_streams
    weights = [dict(name=w.name, ctype=f"{p.layer.name}_weight_t",
                    dims="".join(f"[{d}]" for d in w.values.shape))
               for p in design.processes if (w := p.weights) is not None]
    ctx = dict(top=TOP, project=TOP, summary=net.summary(), ir_sha256=sha,
               n_inputs=design.n_inputs, in_shape=list(design.in_shape), classes=design.classes,
               timesteps=design.timesteps, acc_frac_bits=readout.acc_frac_bits,
               processes=procs, streams=streams, trace_streams=trace,
               weight_arrays=weights, layer_types=list(layer_types.items()),
               block_protocol=design.settings["block_protocol"], part=design.settings["part"],
               clock_period_ns=round(1000.0 / design.settings["clock_mhz"], 4))
    files = {
        f"firmware/{TOP}.cpp": env.get_template("firmware/hire_snn.cpp.j2").render(ctx),
        f"firmware/{TOP}.h": env.get_template("firmware/hire_snn.h.j2").render(ctx),
        "firmware/defines.h": env.get_template("firmware/defines.h.j2").render(ctx),
        "firmware/parameters.h": env.get_template("firmware/parameters.h.j2").render(ctx),
        f"tb_{TOP}.cpp": env.get_template("tb_hire_snn.cpp.j2").render(ctx),
        "build_prj.tcl": env.get_template("build_prj.tcl.j2").render(ctx),
        "project.tcl": env.get_template("project.tcl.j2").render(ctx),
    }
    for lib in sorted(LIBRARY.glob("*.h")):   # integer literals for the pragmas (no expressions)
        files[f"firmware/snn_utils/{lib.name}"] = env.get_template(
            f"firmware/snn_utils/{lib.name}").render(fwd_depth=FWD_DEPTH,
                                                     rmw_distance=RMW_DISTANCE)
    wtmpl = env.get_template("firmware/weights/weights.h.j2")
    for p in design.processes:
        w = p.weights
        if w is None:
            continue
        files[f"firmware/weights/{w.name}.h"] = wtmpl.render(
            w=dict(name=w.name, ctype=f"{p.layer.name}_weight_t",
                   dims="".join(f"[{d}]" for d in w.values.shape),
                   layout="[" + "][".join(w.dims) + "]"),
            layer=p.layer.name, bits=w.bits, kernel=f"snn::{spelling(p.kernel).function}",
            shape_ir=" x ".join(map(str, p.layer.weights.shape)),
            lines=_weight_lines(w.values))

    images = sample_images(design.in_shape)
    acc, pred = golden.predict(net, images)
    files["tb_data/tb_input_codes.dat"] = codes_text(images)
    files["tb_data/tb_expected.dat"] = "".join(
        " ".join(map(str, result_words(a, c, False, signed_class=True))) + "\n"
        for a, c in zip(acc, pred))

    lat = cycles.analytic(design)
    files["latency.json"] = to_json(lat)
    if design.folding:
        files["folding.json"] = to_json(design.folding)
    files["hls_config.json"] = to_json(design.settings)
    manifest = {
        "format": PROJECT_FORMAT, "version": 2, "top": TOP, "ir_sha256": sha,
        "generator_sha256": generator_fingerprint(Path(__file__).parent),
        "input_shape": list(design.in_shape), "classes": design.classes,
        "timesteps": design.timesteps,
        "trace_streams": [{"stream": s.name, "layer": s.layer, "id": s.trace_id,
                           "shape": [s.spikes.channels, s.spikes.height, s.spikes.width],
                           "slice": s.spikes.slice} for s in trace],
        "memory_kbits": {p.name: {m.name: round(m.bits / 1000, 3) for m in p.memories}
                         for p in design.processes},
        "fifo_kbits": {s.name: round(s.depth * s.word_bits / 1000, 3) for s in design.streams},
    }
    files["README.md"] = env.get_template("README.md.j2").render(
        ctx, latency=lat, lanes=design.lanes, settings=design.settings,
        memory=manifest["memory_kbits"])
    manifest["files"] = sorted([*files, "project.json"])
    files["project.json"] = to_json(manifest)
    return files


def write(design: Design, out_dir) -> Path:
    """Render everything, then replace out_dir whole with the new project."""
    return write_files(render(design), out_dir)
