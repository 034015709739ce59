"""Benchmark of the hls/ stage: generate + compile time, C-sim speed, analytic latency.

Usage: python bench/bench_hls.py [--run RUN] [--n 1000] [--out build/bench_hls.json]

Without --run it uses the default network (c16 p2 c32 p2 r, 4-bit, T=8) with seeded random
weights, which spike more densely than a trained one (so C-sim is slower than on a real run).
Images: the first N Fashion-MNIST test images (Debian's dataset-fashion-mnist or
FASHION_MNIST_DIR), or the run's clean vectors. Runs in well under 3 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import report  # noqa: E402
from core import compare  # noqa: E402
from core.hw.mapping import design_of  # noqa: E402
from core.random_ir import random_network  # noqa: E402
from core.runs import load_network, load_vectors  # noqa: E402
from hls.generate import generate  # noqa: E402
from hls.project import HLSProject  # noqa: E402

FMNIST_DIRS = [os.environ.get("FASHION_MNIST_DIR", ""), "data/fashion-mnist",
               "/usr/share/datasets/fashion-mnist"]


def fmnist_codes(n: int):
    for d in FMNIST_DIRS:
        f = Path(d) / "t10k-images-idx3-ubyte.gz"
        if d and f.is_file():
            with gzip.open(f) as fh:
                x = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
            with gzip.open(Path(d) / "t10k-labels-idx1-ubyte.gz") as fh:
                y = np.frombuffer(fh.read(), np.uint8, offset=8)[:n].astype(np.int64)
            # the 8-bit input quantizer's codes of p/255: round(p / 255 * 256), clamped
            return np.clip(np.round(x / 255.0 * 256.0), 0, 255).astype(np.uint8), y
    sys.exit("Fashion-MNIST not found: apt-get install -y dataset-fashion-mnist "
             "(or set FASHION_MNIST_DIR)")




def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="run folder (ir/ and vectors.npz) instead of the random default net")
    ap.add_argument("--n", type=int, default=1000, help="C-sim images (default 1000)")
    ap.add_argument("--out", default="build/bench_hls.json", help="JSON result file")
    a = ap.parse_args(argv)

    if a.run:
        net = load_network(a.run)
        codes, labels = load_vectors(a.run, "none", a.n, net.in_shape)
        source = a.run
    else:
        net = random_network(seed=0)
        codes, labels = fmnist_codes(a.n)
        source = "default network, seeded random weights"

    with tempfile.TemporaryDirectory(prefix="bench_hls_") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        generate(net, tmp / "prj")
        t_gen = time.perf_counter() - t0
        p = HLSProject(tmp / "prj", cache_dir=tmp / "cache")   # cold cache: a real compile
        t0 = time.perf_counter()
        p.compile()
        t_compile = time.perf_counter() - t0
        t0 = time.perf_counter()
        HLSProject(tmp / "prj", cache_dir=tmp / "cache").compile()
        t_cached = time.perf_counter() - t0
        r = p.run(codes, trace=True)
        cmp = compare.compare(design_of(net), codes, r)
        lat = json.loads((tmp / "prj" / "latency.json").read_text())

    result = {
        "source": source,
        "generate_s": round(t_gen, 3),
        "compile_s": round(t_compile, 2),
        "cached_compile_s": round(t_cached, 3),
        "generate_and_compile_s": round(t_gen + t_compile, 2),
        "csim_images": int(len(codes)),
        "csim_images_per_s": round(len(codes) / r.seconds, 1),
        "csim_mismatches_vs_golden": cmp.mismatches,
        "csim_accuracy": round(float((r.pred == labels).mean()), 4),
        "latency_us_at_clock": lat["latency_us"],
        "clock_mhz": lat["clock_mhz"],
        "cycles_per_image": lat["cycles_per_image"],
        "interval_between_images": lat["interval_between_images"],
        "bound_cycles_per_image": lat["bound_cycles_per_image"],
        "spike_rate_assumed": lat["assumptions"]["spike_rate"],
        "lanes": lat["lanes"],
    }
    print(f"generate {t_gen:.2f} s + compile {t_compile:.1f} s (cached {t_cached:.2f} s)")
    print(f"C-sim {len(codes)} images: {result['csim_images_per_s']} images/s, "
          f"{cmp.mismatches} mismatches vs golden")
    print(f"modelled latency {lat['latency_us']} us per image at {lat['clock_mhz']:g} MHz "
          f"({lat['cycles_per_image']} cycles, spike rate {lat['assumptions']['spike_rate']}), "
          f"one image every {lat['interval_between_images']} cycles")
    result["host"] = report.host_info()
    report.write_result(result, a.out)
    return 0 if cmp.mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
