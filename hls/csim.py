"""C simulation of a run's network on its saved test vectors, checked against the golden model.

Usage: python -m hls.csim [RUN] [--n N] [--attack none|fgsm|pgd] [--out PROJECT] [--config JSON]

Needs only RUN/ir/ (the IR) and RUN/vectors.npz (uint8 codes `clean`, `fgsm`, `pgd` of shape
(N, C, H, W) and `labels`). Generates the HLS project (or reuses it when it already holds this
IR and these settings), compiles its test bench with g++, runs the first N images of the chosen
set, and compares class, accumulators and per-timestep spike counts with quant.golden. The last
line printed is one JSON object (images, mismatches, bit_exact, accuracy, images_per_s, ...);
it is also written to PROJECT/csim_report.json.
Exit status: 0 bit-exact, 1 any mismatch, 2 usage error (missing run, vectors or key).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from hls import golden_check, hls_config, latency, mapping, writer
from hls.errors import GeneratorError
from hls.generate import DEFAULT_OUT, DEFAULT_RUN, TRAIN_HINT, load_ir
from hls.project import CSimError, HLSProject

ATTACK_KEYS = {"none": "clean", "clean": "clean", "fgsm": "fgsm", "pgd": "pgd"}


class UsageError(Exception):
    pass


def load_vectors(run: Path, attack: str, n: int | None):
    """(codes, labels) of the first n images of the chosen set in run/vectors.npz."""
    path = run / "vectors.npz"
    if not path.is_file():
        raise UsageError(f"{path}: no test vectors; train/run.py writes them with the run "
                         f"({TRAIN_HINT})")
    key = ATTACK_KEYS[attack]
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in (key, "labels") if k not in z.files]
        if missing:
            raise UsageError(f"{path}: no array {missing[0]!r} (has: {', '.join(z.files)})")
        codes, labels = z[key], z["labels"]
    if codes.dtype != np.uint8 or codes.ndim != 4:
        raise UsageError(f"{path}: {key!r} must be uint8 (N, C, H, W), got {codes.dtype} "
                         f"{codes.shape}")
    if n is not None:
        codes, labels = codes[:n], labels[:n]
    if len(codes) == 0:
        raise UsageError(f"{path}: no images selected from {key!r}")
    return codes, np.asarray(labels).astype(np.int64)


def project_for(model, weights, out: Path, config=None):
    """(HLSProject, Design): reuse out/ when it holds this IR built with these settings."""
    design = mapping.build(model, weights, hls_config.load(config))
    mf, cfg = out / "project.json", out / "hls_config.json"
    if mf.is_file() and cfg.is_file():
        try:
            same = (json.loads(mf.read_text()).get("ir_sha256") == writer.ir_sha256(model, weights)
                    and json.loads(cfg.read_text()) == json.loads(writer.to_json(design.settings)))
        except json.JSONDecodeError:
            same = False
        if same:
            return HLSProject(out), design
    writer.write(design, weights, out)
    return HLSProject(out), design


def run_csim(run, n=None, attack="none", out=DEFAULT_OUT, config=None, log=print) -> dict:
    run = Path(run)
    if not run.exists():
        raise UsageError(f"{run}: no such run folder; {TRAIN_HINT}")
    model, weights = load_ir(run)
    codes, labels = load_vectors(run, attack, n)
    if codes.shape[1:] != tuple(model["input"]["shape"]):
        raise UsageError(f"{run}/vectors.npz: images {codes.shape[1:]} do not match the IR's "
                         f"input {model['input']['shape']}")
    out = Path(out)
    project, design = project_for(model, weights, out, config)
    project.compile()
    result = project.run(codes, trace=True)
    cmp = golden_check.compare(model, weights, codes, result)
    meas = latency.measured(design, result.tokens, result.spikes)
    analytic = json.loads((out / "latency.json").read_text())
    for i in np.flatnonzero(cmp.mismatched)[:10]:
        log(f"mismatch image {i}: csim class {result.pred[i]} acc {result.acc[i].tolist()}, "
            f"golden class {cmp.golden_pred[i]} acc {cmp.golden_acc[i].tolist()}")
    report = {
        "run": str(run), "project": str(out), "attack": attack, "images": int(len(codes)),
        "mismatches": cmp.mismatches, "bit_exact": cmp.bit_exact,
        "acc_equal": cmp.acc_equal, "class_equal": cmp.pred_equal,
        "spike_counts_equal": cmp.spikes_equal,
        "accuracy": round(float((result.pred == labels).mean()), 4),
        "images_per_s": round(len(codes) / result.seconds, 1) if result.seconds else None,
        "latency_us_analytic": analytic["latency_us"],
        "latency_us_measured": meas.get("mean_latency_us"),
        "latency_measured": meas,
    }
    (out / "csim_report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hls.csim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder with ir/ and vectors.npz (default {DEFAULT_RUN})")
    ap.add_argument("--n", type=int, default=None, help="first N images (default: all)")
    ap.add_argument("--attack", choices=["none", "fgsm", "pgd"], default="none",
                    help="which vectors: clean (none) or adversarial (default none)")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help=f"HLS project folder to generate or reuse (default {DEFAULT_OUT})")
    ap.add_argument("--config", help="hls_config.json overrides (see python -m hls.generate)")
    a = ap.parse_args(argv)
    if a.n is not None and a.n < 1:
        ap.error("--n must be >= 1")
    try:
        rep = run_csim(a.run, a.n, a.attack, a.out, a.config,
                       log=lambda m: print(m, file=sys.stderr))
    except (UsageError, GeneratorError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except CSimError as e:
        print(f"error: C simulation failed: {e}", file=sys.stderr)
        return 2
    print(f"C-sim {rep['images']} {a.attack} images: {rep['mismatches']} mismatches vs golden, "
          f"accuracy {rep['accuracy']}, {rep['images_per_s']} images/s; latency "
          f"{rep['latency_us_analytic']} us analytic, {rep['latency_us_measured']} us from the "
          "measured spike counts")
    print(json.dumps({k: v for k, v in rep.items() if k != "latency_measured"}, sort_keys=True))
    return 0 if rep["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
