"""Write a mapped Design as an HLS project folder (hls4ml's layout), atomically.

Rendering is pure: the same IR and settings give byte-identical files (no timestamps, no paths,
sorted JSON). All files are rendered in memory first, then written into a temporary folder
beside the target that replaces it whole (quant.atomic.atomic_dir).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jinja2
import numpy as np

from hls import latency
from hls.mapping import Design
from quant import golden
from quant.atomic import atomic_dir

TOP = "hire_snn"
TEMPLATES = Path(__file__).parent / "templates"
LIBRARY = TEMPLATES / "firmware" / "snn_utils"
NUMBERS_PER_LINE = 24
PROJECT_FORMAT = "hire-snn-hls-project"


def ir_sha256(model: dict, weights: dict) -> str:
    """Content hash of an IR: canonical model.json plus every weight array's int8 bytes."""
    h = hashlib.sha256(json.dumps(model, sort_keys=True).encode())
    for k in sorted(weights):
        a = np.ascontiguousarray(np.asarray(weights[k]).astype(np.int8))
        h.update(f"{k}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


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


def sample_images(in_shape) -> np.ndarray:
    """Deterministic test-bench images: all 0, all 255, a ramp and seeded noise."""
    n = int(np.prod(in_shape))
    ramp = (np.arange(n) * 255 // max(1, n - 1)).astype(np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8)
    return np.stack([np.zeros(n, np.uint8), np.full(n, 255, np.uint8), ramp, noise]).reshape(
        4, *in_shape)


def codes_text(codes: np.ndarray) -> str:
    """The test bench's input format: one image per line, codes separated by spaces."""
    rows = np.asarray(codes, dtype=np.uint8).reshape(len(codes), -1)
    return "".join(" ".join(map(str, r)) + "\n" for r in rows.tolist())


def results_text(acc: np.ndarray, pred: np.ndarray) -> str:
    """The test bench's output format: class then accumulators, one image per line."""
    return "".join(" ".join(map(str, [int(p), *a])) + "\n" for p, a in zip(pred.tolist(), acc.tolist()))


def summary(model: dict) -> str:
    src = model.get("source", {})
    layers = " ".join(src.get("layers", [L["name"] for L in model["layers"]]))
    return f"{layers}, T={model['timesteps']}, input {'x'.join(map(str, model['input']['shape']))}"


def render(design: Design, weights: dict) -> dict:
    """All project files as {relative path: text}."""
    model = design.model
    env = _env()
    sha = ir_sha256(model, weights)
    readout = model["layers"][-1]
    ctx = dict(top=TOP, project=TOP, summary=summary(model), ir_sha256=sha,
               n_inputs=design.n_inputs, in_shape=list(design.in_shape), classes=design.classes,
               timesteps=design.timesteps, acc_frac_bits=readout["acc_frac_bits"],
               stages=design.stages, streams=design.streams, trace_streams=design.trace_streams,
               weight_arrays=design.weight_arrays, layer_types=design.layer_types,
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
    for lib in sorted(LIBRARY.glob("*.h")):
        files[f"firmware/snn_utils/{lib.name}"] = lib.read_text()
    wtmpl = env.get_template("firmware/weights/weights.h.j2")
    for st in design.stages:
        if st.weights is None:
            continue
        L = st.layer
        files[f"firmware/weights/{st.weights.name}.h"] = wtmpl.render(
            w=st.weights, layer=L["name"], bits=L["weight_bits"], kernel=f"snn::{st.kernel}",
            shape_ir=" x ".join(map(str, np.asarray(weights[L["weights"]]).shape)),
            lines=_weight_lines(st.weights.values))

    images = sample_images(design.in_shape)
    acc, pred = golden.predict(model, weights, images)
    files["tb_data/tb_input_codes.dat"] = codes_text(images)
    files["tb_data/tb_expected.dat"] = results_text(acc, pred)

    lat = latency.analytic(design)
    files["latency.json"] = to_json(lat)
    files["hls_config.json"] = to_json(design.settings)
    manifest = {
        "format": PROJECT_FORMAT, "version": 1, "top": TOP, "ir_sha256": sha,
        "input_shape": list(design.in_shape), "classes": design.classes,
        "timesteps": design.timesteps,
        "trace_streams": [{"stream": s.name, "layer": s.layer, "id": s.trace_id,
                           "shape": [s.spikes.channels, s.spikes.height, s.spikes.width],
                           "slice": s.spikes.slice} for s in design.trace_streams],
        "memory_kbits": {st.name: {k: round(v / 1000, 3) for k, v in st.memory_bits.items()}
                         for st in design.stages},
    }
    files["README.md"] = env.get_template("README.md.j2").render(
        ctx, latency=lat, lanes=design.lanes, settings=design.settings,
        memory=manifest["memory_kbits"])
    manifest["files"] = sorted([*files, "project.json"])
    files["project.json"] = to_json(manifest)
    return files


def write(design: Design, weights: dict, out_dir) -> Path:
    """Render everything, then replace out_dir whole with the new project."""
    files = render(design, weights)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        for rel, text in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
    return out_dir
