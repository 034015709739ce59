"""What-if on the cycle model: which fire-pass saving would pay (issue 19, item 2).

    python bench/fire_pass_whatif.py [--run runs/default] [--n 9] [--json build/bench/fire_pass.json]

Neither saving is built; this measures what each would buy before anyone builds it:
- dirty bitmap in conv_event (conv2 here): a fire-pass word (position x output group) may be skipped only
  when its membranes are all zero and nothing reached it this timestep (the integer leak
  U - (U >> k) leaves a small positive membrane where it is, so any other word must still be
  written). The fraction comes from the golden model's own membranes on the run's images;
- P positions per cycle in lif_direct from timestep 1 on (timestep 0 keeps the current
  stream's pace, one position per cycle).
The kernels' passes are shortened by that factor inside core.hw.cycles.model (the emits keep
their order, compressed with the pass), for the default folding and the fastest one.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python bench/fire_pass_whatif.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core import golden  # noqa: E402
from core.hw import cycles, mapping  # noqa: E402
from core.hw.kernels import base, event, lif  # noqa: E402
from core.network import Network  # noqa: E402

# folding -> (settings overrides, conv2's lanes: the width of a fire-pass word)
FOLDINGS = {"16x1, 16, 10 (default)": ({}, 16),
            "16x9, 48, 10 (fastest)": ({"layers": {"conv1": {"lanes": 16, "taps": 9},
                                                   "conv2": {"lanes": 48}}}, 48)}
_PASS = base.Kernel.pass_with_emits


def skippable_fraction(net: Network, codes: np.ndarray, lanes: int = 16) -> dict:
    """Per event conv layer: the share of fire-pass words that are all-zero and untouched."""
    T, n, out = net.timesteps, len(codes), {}
    h, frames = codes, False
    for L in net.layers:
        if L.kind == "pool":
            h = golden.or_pool(h, L.size)
            continue
        if L.kind == "readout":
            break
        cur = golden._weight_current(L, h)
        if frames:
            cur = cur.reshape(T, n, *cur.shape[1:]).astype(np.int64)
            C, H, W = cur.shape[2:]
            u = np.zeros((n, C, H, W), np.int64)
            skip = 0
            for t in range(T):
                shape = (n, -(-C // lanes), lanes, H, W)
                pad = (0, -C % lanes)
                cw = np.pad(cur[t], ((0, 0), pad, (0, 0), (0, 0))).reshape(shape)
                uw = np.pad(u, ((0, 0), pad, (0, 0), (0, 0))).reshape(shape)
                skip += ((cw == 0).all(2) & (uw == 0).all(2)).sum()
                u = u - (u >> L.leak_shift) + cur[t]
                u = np.where(u >= L.threshold, u - L.threshold, u)
            out[L.name] = float(skip / (T * n * shape[1] * H * W))
        spikes = golden.lif_int(cur, L.threshold, L.leak_shift, T, direct=not frames)
        h, frames = spikes.reshape(T * n, *spikes.shape[2:]), True
    return out


def _scaled(f: float):
    def pass_with_emits(n, emits, tokens, out, first_read=None, pipe=base.PIPE):
        if first_read is not None or f == 1:
            return _PASS(n, emits, tokens, out, first_read, pipe)
        return _PASS(math.ceil(n * f), [int(i * f) for i in emits], tokens, out, None, pipe)
    return staticmethod(pass_with_emits)


def model(net, codes, overrides: dict, lif_p: int, conv_f: float) -> dict:
    try:
        lif.LifDirect.pass_with_emits = _scaled(1 / lif_p)
        event.ConvEvent.pass_with_emits = _scaled(conv_f)
        d = mapping.design_of(net, overrides=overrides)
        m = cycles.model(d, cycles.traces_from_golden(d, codes))
    finally:
        lif.LifDirect.pass_with_emits = event.ConvEvent.pass_with_emits = staticmethod(_PASS)
    return {"alone": m["cycles_per_image"], "interval": m["interval_between_images"],
            "busy": m["busy"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="runs/default", help="run folder with ir/ and vectors.npz")
    ap.add_argument("--n", type=int, default=9, help="clean test images of vectors.npz")
    ap.add_argument("--json", default="build/bench/fire_pass.json")
    a = ap.parse_args(argv)
    run = Path(a.run)
    if not (run / "ir").is_dir() or not (run / "vectors.npz").is_file():
        ap.error(f"{run}: needs ir/ and vectors.npz (make one: python train/run.py --quant 4bit)")
    net = Network.load(run / "ir")
    codes = np.load(run / "vectors.npz")["clean"][:a.n]
    rows, skippable = {}, {}
    for fname, (ov, lanes) in FOLDINGS.items():
        frac = skippable_fraction(net, codes, lanes)
        skippable[fname] = frac
        dirty = 1 - frac.get("conv2", 0.0)
        print(f"{fname}: skippable fire-pass words " + ", ".join(f"{k} {v:.3f}" for k, v in frac.items()))
        cases = {"as built": (1, 1.0), "dirty bitmap": (1, dirty), "LIF P=2": (2, 1.0),
                 "both": (2, dirty), "LIF P=4": (4, 1.0)}
        rows[fname] = {c: model(net, codes, ov, p, f) for c, (p, f) in cases.items()}
        base_ = rows[fname]["as built"]
        for c, r in rows[fname].items():
            print(f"{fname:24s} {c:13s} alone {r['alone']:8.0f} ({r['alone'] / base_['alone'] - 1:+.1%})"
                  f"  between images {r['interval']:8.0f} ({r['interval'] / base_['interval'] - 1:+.1%})")
    res = {"run": str(run), "images": a.n, "skippable": skippable, "cycles": rows}
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
