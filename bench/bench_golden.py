"""Golden-model benchmark: core.golden.predict throughput on the Fashion-MNIST test set.

    python bench/bench_golden.py                       # untrained 4-bit fmnist-conv, 10000 images
    python bench/bench_golden.py --run runs/latest     # a trained run's IR (run folder or ir/ folder)
    python bench/bench_golden.py --images 500 --json build/bench/golden-small.json

Input codes are what the hardware receives: round(p / 255 * 256) (half to even, as the QAT
model's input quantizer), clipped to 255. Without --run the IR is exported from an untrained
4-bit fmnist-conv model (torch.manual_seed(0), ModelConfig(v_th=0.3), low enough that every
layer spikes), so the figure does not depend on a training run. Reports images/s of
core.golden.predict (its default chunk of 500 images) and the per-layer spike rates of
core.golden.run(record=True) on the first 500 images (the golden model's cost does not depend
on them: every layer is a dense integer matmul, but they say whether the model is live).
Writes a JSON result file (default build/bench/golden.json).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/bench_golden.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench import report
from core import golden
from core.errors import FlowError
from core.network import Network
from core.random_ir import random_network

RATE_IMAGES = 500


def default_net(timesteps: int = 8) -> Network:
    """A seeded random 4-bit fmnist-conv (c16 p2 c32 p2 r) that spikes (core.random_ir)."""
    return random_network(timesteps=timesteps, seed=0)


def test_codes(n: int, data_dir=None):
    """(codes uint8 (N,1,28,28), labels) of the first n Fashion-MNIST test images."""
    from train import data

    x, y = data.load("fashion-mnist", "test", data_dir, n)
    xf = x.numpy()  # p / 255 in float32, as the QAT model sees it
    codes = np.clip(np.round(xf * np.float32(256.0)), 0, 255).astype(np.uint8)
    return codes, y.numpy()


def spike_rates(net, codes):
    res = golden.run(net, codes, record=True)
    names = [L.name for L in net.layers if L.kind in ("conv", "dense")]
    return [{"layer": nm, "rate": float(s.mean()), "shape": list(s.shape)} for nm, s in zip(names, res.spikes)]


def host_info() -> dict:
    return report.host_info(numpy=np.__version__, blas=_blas_name())


def _blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        return cfg.get("Build Dependencies", {}).get("blas", {}).get("name")
    except Exception:  # noqa: BLE001 - informative only
        return None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python bench/bench_golden.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=None,
                    help="run folder or IR folder (default: an untrained random 4-bit model, see above)")
    ap.add_argument("--images", type=int, default=10000, help="test images (default 10000: all)")
    ap.add_argument("--chunk", type=int, default=500, help="core.golden.predict chunk size (default 500)")
    ap.add_argument("--repeats", type=int, default=1, help="timed passes; the median is reported (default 1)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default="build/bench/golden.json", help="result file (default build/bench/golden.json)")
    a = ap.parse_args(argv)
    if a.images < 1 or a.chunk < 1 or a.repeats < 1:
        ap.error("--images, --chunk and --repeats must be >= 1")

    if a.run:
        try:
            net = Network.load(a.run)
        except FlowError as e:
            sys.exit(f"error: {e}")
        source = str(a.run)
    else:
        net = default_net()
        source = "random fmnist-conv 4bit (core.random_ir, seed 0)"
    if tuple(net.in_shape) != (1, 28, 28):
        sys.exit(f"error: the IR's input is {list(net.in_shape)}, not Fashion-MNIST's [1, 28, 28]")
    T = net.timesteps
    try:
        codes, labels = test_codes(a.images, a.data_dir)
    except Exception as e:  # train.data.DataError
        sys.exit(f"error: {e}")
    n = len(codes)
    print(f"bench_golden: {source}, T={T}, {n} test images, chunk {a.chunk}, {os.cpu_count()} cpu(s)",
          flush=True)

    golden.predict(net, codes[:min(n, 50)], chunk=a.chunk)  # warm-up
    secs = []
    for r in range(a.repeats):
        t0 = time.perf_counter()
        acc, pred = golden.predict(net, codes, chunk=a.chunk)
        secs.append(time.perf_counter() - t0)
        print(f"  pass {r + 1}/{a.repeats}: {secs[-1]:.2f} s, {n / secs[-1]:.1f} img/s", flush=True)
    sec = statistics.median(secs)
    accuracy = float((pred == labels).mean())

    m = min(n, RATE_IMAGES)
    t0 = time.perf_counter()
    rates = spike_rates(net, codes[:m])
    rec_sec = time.perf_counter() - t0

    print()
    rows = [("golden predict", f"{n / sec:.1f} img/s ({sec:.2f} s for {n} images, T={T})"),
            ("golden run(record=True)", f"{m / rec_sec:.1f} img/s ({m} images)"),
            ("accuracy (vs labels)", f"{accuracy:.4f}" + ("" if a.run else " (untrained model)"))]
    rows += [(f"spike rate {r['layer']}", f"{r['rate']:.4f}") for r in rates]
    w = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{w}}  {v}" for k, v in rows))

    result = {
        "benchmark": "golden",
        "config": {"source": source, "images": n, "timesteps": T, "chunk": a.chunk,
                   "repeats": a.repeats, "rate_images": m,
                   "layers": [L.name for L in net.layers]},
        "figures": {"predict_images_per_s": n / sec, "predict_seconds": sec, "predict_seconds_all": secs,
                    "record_images_per_s": m / rec_sec, "accuracy": accuracy, "spike_rates": rates},
        "host": host_info(),
    }
    report.write_result(result, a.json)
    return result


if __name__ == "__main__":
    main()
