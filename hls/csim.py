"""C simulation of a run's network on its saved test vectors, checked against the golden model.

Usage: python -m hls.csim [RUN] [--n N] [--attack none|fgsm|pgd|SET] [--out PROJECT] [--config JSON]

Needs only RUN/ir/ (the IR) and RUN/vectors.npz (uint8 codes `clean`, `fgsm`, `pgd` of shape
(N, C, H, W) and `labels`). Generates the HLS project (or reuses it when it already holds this
IR and these settings), compiles its test bench with g++, runs the first N images of the chosen
set, and compares class, accumulators and per-timestep slice and spike counts of every spike
stream with the golden model. The last line printed is one JSON object (images, mismatches,
bit_exact, accuracy, images_per_s, the cycle model's latency on these images, ...); it is also
written to PROJECT/csim_report.json.
Exit status: 0 bit-exact, 1 any mismatch, 2 an error (missing run, vectors or key).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


from core import compare
from core.atomic import atomic_file
from core.errors import EXIT_MISMATCH, EXIT_OK, cli, run_cli
from core.hw import backend, cycles
from core.runs import add_vector_arguments, check_count, load_network, load_vectors, run_folder
from hls import writer
from hls.generate import DEFAULT_OUT
from hls.project import HLSProject

MODEL_IMAGES = 50   # images the cycle model simulates for the report (it is the slow part)


def project_for(net, out: Path, config=None, codes=None, overrides: dict | None = None):
    """(HLSProject, Design): reuse out/ when it holds this IR built with these settings."""
    design, out = backend.project_for(writer.write, net, out, "hls_config.json", config, codes,
                                      overrides)
    return HLSProject(out), design


def run_csim(run, n=None, attack="none", out=DEFAULT_OUT, config=None, log=print,
             overrides: dict | None = None) -> dict:
    run = run_folder(run)
    net = load_network(run)
    codes, labels = load_vectors(run, attack, n, net.in_shape)
    out = Path(out)
    project, design = project_for(net, out, config,
                                  backend.fold_codes(run, net, config, overrides), overrides)
    project.compile()
    result = project.run(codes, trace=True)
    cmp = compare.compare(design, codes, result)
    model = cycles.measured(design, codes[:MODEL_IMAGES])
    for line in cmp.mismatch_lines(result, "csim"):
        log(line)
    report = {
        "run": str(run), "project": str(out), "attack": attack, **cmp.summary(result, labels),
        "images_per_s": round(len(codes) / result.seconds, 1) if result.seconds else None,
        "model_cycles_per_image": model["cycles_per_image"],
        "model_interval_between_images": model["interval_between_images"],
        "model_latency_us": model["latency_us"],
        "model_images": model["images"],
    }
    with atomic_file(out / "csim_report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hls.csim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_vector_arguments(ap, "ir/ and vectors.npz")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help=f"HLS project folder to generate or reuse (default {DEFAULT_OUT})")
    ap.add_argument("--config", help="hls_config.json overrides (see python -m hls.generate)")
    backend.add_fold_arguments(ap)
    a = ap.parse_args(argv)
    check_count(ap, a.n)
    rep = run_csim(a.run, a.n, a.attack, a.out, a.config,
                   log=lambda m: print(m, flush=True), overrides=backend.fold_overrides(ap, a))
    print(json.dumps(rep, sort_keys=True))
    return EXIT_OK if rep["bit_exact"] else EXIT_MISMATCH


if __name__ == "__main__":
    run_cli(main)
