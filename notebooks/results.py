# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # HIRE-SNN flow: results
#
# Plots of one or more run folders made by `train/run.py` (`metrics.json`, `vectors.npz`,
# `ir/`), the strong attack suite's `robustness.json` (`python -m train.robustness RUN`) and,
# when it exists, a generated HLS project (`latency.json`). Nothing here is computed anew: the
# numbers come from the run folders or from package functions (`train.report`,
# `core.golden.run`, `quant.verify.compare`, `quant.checkpoint.load`).
#
# This file is the notebook's source: a jupytext percent script (`# %%` starts a cell).
# `make notebooks` turns it into `build/results.ipynb` and executes it; in Jupyter with
# jupytext installed, open it as a notebook directly.
#
# Parameters come from the environment (next cell):
#
# | variable | meaning | default |
# |---|---|---|
# | `HIRE_RUNS` | `label=path,label=path` (a bare `path` is labelled by its folder name) | `latest=runs/latest` |
# | `HIRE_REPORT_RUNS` | run folders (or folders holding them), comma-separated, for the strong-suite section | the `HIRE_RUNS` folders |
# | `HLS_PROJECT` | a project written by `python -m hls.generate` | `build/hls_prj` |
# | `HIRE_FIGURES` | where every figure is also saved as PNG | `build/figures` |
# | `HIRE_VERIFY_LIMIT` | images per vector set for the bit-exactness check | all saved |
#
# Relative paths are taken from the repository root. Run it with
# `make notebooks`, or for a HIRE vs standard comparison:
#
#     HIRE_RUNS=hire=runs/hire-4bit,standard=runs/std-4bit make notebooks

# %%
# Parameters
import os
from pathlib import Path

ROOT = Path.cwd().resolve()
while not (ROOT / "core" / "golden.py").is_file() and ROOT != ROOT.parent:
    ROOT = ROOT.parent  # the notebook may run from notebooks/ or the repository root


def _path(p):
    p = Path(p).expanduser()
    return p if p.is_absolute() else ROOT / p


def _parse_runs(spec):
    runs = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        label, _, path = item.rpartition("=")
        path = _path(path.strip())
        runs[label.strip() or path.name] = path
    return runs


RUNS = _parse_runs(os.environ.get("HIRE_RUNS", "")) or {"latest": ROOT / "runs" / "latest"}
HLS_PROJECT = _path(os.environ.get("HLS_PROJECT", "build/hls_prj"))
FIGURES = _path(os.environ.get("HIRE_FIGURES", "build/figures"))
VERIFY_LIMIT = int(os.environ["HIRE_VERIFY_LIMIT"]) if os.environ.get("HIRE_VERIFY_LIMIT") else None
REPORT_RUNS = [_path(p.strip()) for p in os.environ.get("HIRE_REPORT_RUNS", "").split(",") if p.strip()]
N_SHOW = 6  # test images in the attack grid

for label, path in RUNS.items():
    print(f"{label:>12}: {path}")
print(f"{'HLS project':>12}: {HLS_PROJECT}")
print(f"{'figures':>12}: {FIGURES}")

# %%
# Shared style, run loading and helpers
import json
import re
import sys

import matplotlib
import matplotlib.patches
import matplotlib.ticker
import matplotlib.pyplot as plt
import numpy as np

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from core import golden
from core.network import Network

plt.rcParams.update({
    "figure.dpi": 80, "savefig.dpi": 130, "savefig.bbox": "tight",
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
    "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "axes.axisbelow": True,
})
FIGURES.mkdir(parents=True, exist_ok=True)
SAVED = []
CLASS_NAMES = {
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
    "digits": [str(i) for i in range(10)],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                "truck"],
}


def save(fig, name):
    """Show the figure and write it to FIGURES/<name>.png."""
    path = FIGURES / f"{name}.png"
    fig.savefig(path)
    SAVED.append(path)
    plt.show()
    plt.close(fig)


def slug(label):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)


def get(d, *keys, default=None):
    """d[k1][k2]... or default when any level is missing or null."""
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return default
        d = d[k]
    return d


def load_run(label, path):
    run = {"label": label, "path": path, "metrics": None, "vectors": None, "ir": None}
    if (path / "metrics.json").is_file():
        run["metrics"] = json.loads((path / "metrics.json").read_text())
    if (path / "vectors.npz").is_file():
        with np.load(path / "vectors.npz", allow_pickle=False) as z:
            run["vectors"] = {k: z[k] for k in z.files}
    if (path / "ir" / "model.json").is_file():
        run["ir"] = Network.load(path)  # the validated IR, read-only
    run["checkpoint"] = (path / "checkpoint.pt").is_file()
    return run


runs = {}
for label, path in RUNS.items():
    if not path.is_dir():
        print(f"{label}: {path} does not exist, left out")
        continue
    r = load_run(label, path)
    if r["metrics"] is None:
        print(f"{label}: no metrics.json in {path}, left out")
        continue
    runs[label] = r
    print(f"{label}: metrics.json" + ", vectors.npz" * (r["vectors"] is not None)
          + ", ir/" * (r["ir"] is not None) + ", checkpoint.pt" * r["checkpoint"])
COLORS = {label: plt.cm.tab10(i % 10) for i, label in enumerate(runs)}
if not runs:
    print("no run folder to show: train one with `python train/run.py --quant 4bit` "
          "or set HIRE_RUNS")


# %% [markdown]
# ## 1. Summary
#
# One row per run: what was trained and how it holds up. Look for HIRE keeping most of its
# clean accuracy under FGSM / PGD where the standard run collapses, at a similar energy.

# %%
def fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


COLUMNS = ["run", "method", "quant", "T", "encoding", "clean", "eps\n(x/255)", "FGSM", "PGD",
           "black-box\nFGSM / PGD", "s/epoch", "SNN\npJ/image", "ANN/SNN\nenergy"]
WIDTHS = [1.4, 1.0, 0.8, 0.5, 1.0, 0.8, 0.8, 0.8, 0.8, 1.6, 0.8, 1.1, 1.0]
rows = []
for label, r in runs.items():
    m = r["metrics"]
    secs = m.get("train_seconds_per_epoch") or []
    bb = m.get("blackbox")
    eps = m.get("eps")
    rows.append([
        label, get(m, "config", "method", default="-"),
        get(m, "model", "quant", default=get(m, "config", "quant", default="-")),
        str(get(m, "model", "timesteps", default="-")),
        get(m, "model", "encoding", default=get(m, "config", "encoding", default="-")),
        fmt(m.get("clean_acc")), fmt(None if eps is None else eps * 255, ".1f"),
        fmt(m.get("fgsm_acc")), fmt(m.get("pgd_acc")),
        "-" if not bb else f"{fmt(bb.get('fgsm_acc'))} / {fmt(bb.get('pgd_acc'))}",
        fmt(float(np.mean(secs)) if secs else None, ".1f"),
        fmt(get(m, "energy", "snn_pj_per_image"), ".3g"),
        fmt(get(m, "energy", "ratio_ann_over_snn"), ".2f") + "x",
    ])

if rows:
    flat = [c.replace("\n", " ") for c in COLUMNS]
    widths = [max(len(str(x)) for x in col) for col in zip(flat, *rows)]
    for line in [flat, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)))
    fig, ax = plt.subplots(figsize=(13, 0.9 + 0.42 * len(rows)))
    ax.axis("off")
    tab = ax.table(cellText=rows, colLabels=COLUMNS, loc="center", cellLoc="center",
                   colWidths=[w / sum(WIDTHS) for w in WIDTHS])
    tab.auto_set_font_size(False)
    tab.set_fontsize(9)
    tab.scale(1, 1.7)
    for (i, j), cell in tab.get_celld().items():
        if i == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#e8e8e8")
            cell.set_height(cell.get_height() * 1.5)
        elif j == 0:
            cell.set_facecolor(matplotlib.colors.to_rgba(COLORS[rows[i - 1][0]], 0.25))
    ax.set_title("Runs (accuracies on the attacked test subset; clean on the whole test set)")
    save(fig, "summary")

# %% [markdown]
# ## 2. Robustness, the paper's protocol: accuracy vs attack budget
#
# Accuracy under FGSM and 7-step PGD (the paper's protocol, which `train/run.py` measures) for
# each eps of the run's sweep (dotted: clean accuracy). This protocol overestimates SNN
# robustness: section 3 has the strong suite's worst case.

# %%
if not runs:
    print("no runs: section skipped")
else:
    steps = {get(r["metrics"], "pgd", "steps") for r in runs.values()} - {None}
    TITLES = {"fgsm": "FGSM", "pgd": "PGD" + (f"-{steps.pop()}" if len(steps) == 1 else "")}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, attack in zip(axes, ("fgsm", "pgd")):
        for label, r in runs.items():
            m = r["metrics"]
            pts = sorted((row["eps"], row["acc"]) for row in (m.get("sweep") or [])
                         if row.get("attack") == attack and row.get("acc") is not None)
            if not pts and m.get(f"{attack}_acc") is not None and m.get("eps") is not None:
                pts = [(m["eps"], m[f"{attack}_acc"])]
            if pts:
                e, a = np.array(pts).T
                ax.plot(e * 255, a, "o-", color=COLORS[label], label=label)
            if m.get("clean_acc") is not None:
                ax.axhline(m["clean_acc"], color=COLORS[label], ls=":", lw=1.2)
        ax.set_title(TITLES[attack])
        ax.set_xlabel("eps (x/255)")
        ax.set_xlim(left=0)
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("accuracy")
    axes[1].legend(title="run (dotted: clean)", loc="upper right")
    save(fig, "robustness")

# %% [markdown]
# ## 3. Robustness under the strong attack suite
#
# `python -m train.robustness RUN` attacks the model as the hardware sees it (8-bit codes) with
# many-step PGD through every surrogate (cross-entropy and CW margin, random restarts), ART's
# Square attack and transfer from an independent standard SNN and a float ANN; the worst case
# is, per image, the minimum over all of them. `train.report` groups runs that differ only in
# their seed (mean and spread) and draws the same table and figures as `make report`. Look for
# the worst case, not the best single attack: a gap between them, or a black-box attack beating
# the white-box ones, points at gradient masking.

# %%
from IPython.display import Markdown, display

from train import report as rep

report_paths = REPORT_RUNS or [r["path"] for r in runs.values()]
found = rep.find_runs(report_paths)
if not found:
    print("no run folder with robustness.json among " + ", ".join(map(str, report_paths))
          + ": section skipped; make one with `python -m train.robustness RUN`")
else:
    suite = rep.build(found)
    display(Markdown(suite["markdown"]))
    for g in suite["summary"]["groups"]:
        for e, row in g["eps"].items():
            print(f"{g['label']}: eps {e:.4f} worst case {row['worst_case']['mean']:.4f} "
                  f"over {row['worst_case']['n']} run(s)")
    for name, fig in rep.figures(suite["summary"], suite["runs"], suite["groups"]).items():
        save(fig, name)
    for r in suite["runs"]:
        for f in r["rob"].get("flags", []):
            print(f"{r['name']}: FLAG {f}")
        hw = r["rob"].get("hardware")
        if hw:
            print(f"{r['name']}: hardware attack on the golden model ({hw['images']} images, eps "
                  f"{hw['eps']:.4f}): {hw['golden_accuracy']:.4f}; check it with `{hw['check'][0]}`")

# %% [markdown]
# ## 4. Spikes and energy
#
# Left: the fraction of each LIF layer's neurons that fire per timestep (bars) and of the
# spikes it sends on after pooling (dots). Right: compute energy per image (45 nm, log scale)
# of the SNN as run here, the SNN in the paper's convention and the same network as an ANN.
# Look for low rates and the SNN bars well below the ANN.

# %%
if not runs:
    print("no runs: section skipped")
else:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.2, 1]})
    layers = []
    for r in runs.values():
        for row in r["metrics"].get("spike_rates") or []:
            if row["layer"] not in layers:
                layers.append(row["layer"])
    layers.sort(key=lambda name: name != "input")  # rate-coded input spikes first, then layer order
    n = max(len(runs), 1)
    w = 0.8 / n
    x = np.arange(len(layers))
    for i, (label, r) in enumerate(runs.items()):
        table = {row["layer"]: row for row in r["metrics"].get("spike_rates") or []}
        xs = [x[j] + (i - (n - 1) / 2) * w for j, name in enumerate(layers) if name in table]
        rate = [table[name]["rate"] for name in layers if name in table]
        out = [table[name].get("out_rate", table[name]["rate"]) for name in layers if name in table]
        ax1.bar(xs, rate, w, color=COLORS[label], label=label)
        ax1.plot(xs, out, "o", color="black", ms=4, label="after pooling" if i == 0 else None)
    ax1.set_xticks(x, layers)
    ax1.set_ylabel("spikes per neuron per timestep")
    ax1.set_title("Spike rate per layer")
    if layers:
        ax1.set_ylim(0, ax1.get_ylim()[1] * 1.2)
        ax1.legend(loc="upper left")

    kinds = [("snn_pj_per_image", "SNN (first layer once per image)", 1.0),
             ("snn_pj_per_image_paper_convention", "SNN (paper convention)", 0.55),
             ("ann_pj_per_image", "ANN (same network)", None)]
    w = 0.8 / len(kinds)
    lo = np.inf
    for i, (label, r) in enumerate(runs.items()):
        en = r["metrics"].get("energy") or {}
        for k, (key, name, alpha) in enumerate(kinds):
            v = en.get(key)
            if v is None:
                continue
            color = COLORS[label] if alpha is not None else "0.6"
            b = ax2.bar(i + (k - 1) * w, v, w, color=color, alpha=alpha or 1.0,
                        hatch="//" if k == 1 else None, edgecolor="white",
                        label=name if i == 0 else None)
            ax2.bar_label(b, [f"{v / 1e6:.2g} µJ"], fontsize=8, padding=2)
            lo = min(lo, v)
    ax2.set_yscale("log")
    ax2.set_xticks(range(len(runs)), list(runs))
    ax2.set_ylabel("pJ per image")
    ax2.set_title("Compute energy per image (45 nm)")
    ax2.legend(loc="upper left", fontsize=8)
    if np.isfinite(lo):  # a decade below the smallest bar, room above for the legend
        ax2.set_ylim(10 ** np.floor(np.log10(lo) - 1), ax2.get_ylim()[1] * 10)
    fig.tight_layout()
    save(fig, "spikes_energy")


# %% [markdown]
# ## 5. What the attacks do
#
# A few attacked test images as the 8-bit codes the hardware receives, titled with the
# golden (integer) model's class (red when wrong) and the true label; the last row is the PGD
# perturbation. Look for small, structured perturbations that flip the class.

# %%
def class_name(r, k):
    names = CLASS_NAMES.get(get(r["metrics"], "config", "dataset"))
    return names[k] if names and 0 <= k < len(names) else str(k)


def as_image(c):
    return c[0] if c.shape[0] == 1 else np.moveaxis(c, 0, -1)


SETS = ("clean", "fgsm", "pgd")
for label, r in runs.items():
    v = r["vectors"]
    if v is None or not all(k in v for k in (*SETS, "labels")):
        print(f"{label}: no vectors.npz with clean/fgsm/pgd codes (float or unquantized run), skipped")
        continue
    k = min(N_SHOW, len(v["labels"]))
    preds = ({s: golden.predict(r["ir"], v[s][:k])[1] for s in SETS} if r["ir"] is not None
             else None)
    eps = float(v["eps"]) if "eps" in v else r["metrics"].get("eps")
    lim = max(1, int(np.abs(v["pgd"][:k].astype(int) - v["clean"][:k]).max()))
    fig, axes = plt.subplots(4, k, figsize=(1.9 * k, 8.4), squeeze=False)
    for j in range(k):
        y = int(v["labels"][j])
        for i, s in enumerate(SETS):
            ax = axes[i, j]
            ax.imshow(as_image(v[s][j]), cmap="gray", vmin=0, vmax=255)
            if preds is not None:
                p = int(preds[s][j])
                ax.set_title(f"{s}: {class_name(r, p)}", fontsize=8,
                             color="black" if p == y else "crimson")
            else:
                ax.set_title(s, fontsize=8)
        d = v["pgd"][j].astype(np.int16) - v["clean"][j].astype(np.int16)
        im = axes[3, j].imshow(d.mean(0), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, j].set_xlabel(f"label: {class_name(r, y)}", fontsize=8)
        axes[0, j].xaxis.set_label_position("top")
        axes[0, j].xaxis.labelpad = 14
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    axes[3, 0].set_ylabel("pgd - clean")
    cax = axes[3, -1].inset_axes([1.08, 0.0, 0.08, 1.0])  # outside the grid: panels keep their size
    fig.colorbar(im, cax=cax, label="code difference")
    note = "" if preds is not None else " (no IR: no golden prediction)"
    fig.suptitle(f"{label}: clean / FGSM / PGD at eps = {fmt(eps and eps * 255, '.1f')}/255{note}")
    save(fig, f"attacks_{slug(label)}")

# %% [markdown]
# ## 6. Spike activity of one image under attack
#
# The golden model's spikes for one clean test image and its PGD version (the first image
# whose class the attack flips, if any): spikes per timestep in every LIF layer, and a raster
# of the last LIF layer's neurons whose spike trains PGD changes most (red: spikes only that
# image has). Look for how the attack changes *which* neurons fire, more than how many.

# %%
for label, r in runs.items():
    v = r["vectors"]
    if r["ir"] is None or v is None:
        print(f"{label}: no {'ir/' if r['ir'] is None else 'vectors.npz'} "
              "(rate-coded and float runs have no hardware IR), skipped")
        continue
    net = r["ir"]
    K = min(64, len(v["labels"]))
    pc = golden.predict(net, v["clean"][:K])[1]
    pp = golden.predict(net, v["pgd"][:K])[1]
    y = v["labels"][:K]
    flipped = np.flatnonzero((pc == y) & (pp != y))
    idx = int(flipped[0]) if len(flipped) else 0
    g = golden.run(net, np.stack([v["clean"][idx], v["pgd"][idx]]), record=True)
    names = [L.name for L in net.layers if L.kind not in ("pool", "readout")]
    T = net.timesteps

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), gridspec_kw={"width_ratios": [1.4, 1, 1]})
    ax = axes[0]
    for li, (name, s) in enumerate(zip(names, g.spikes)):
        counts = s.reshape(T, 2, -1).sum(-1)
        c = plt.cm.tab10(li % 10)
        ax.plot(range(T), counts[:, 0], "o-", color=c, label=f"{name} clean")
        ax.plot(range(T), counts[:, 1], "s--", color=c, label=f"{name} PGD")
    ax.set_xlabel("timestep")
    ax.set_ylabel("spikes")
    ax.set_title("Spikes per timestep")
    ax.legend(fontsize=8)

    last = g.spikes[-1].reshape(T, 2, -1).astype(np.int64)  # (T, image, neuron)
    differ = (last[:, 0] != last[:, 1]).sum(0)  # timesteps where the two trains differ
    order = np.lexsort((-last.sum((0, 1)), -differ))  # most different, then most active
    top = np.sort(order[:48])
    both = last[:, 0, top] & last[:, 1, top]
    cmap = matplotlib.colors.ListedColormap(["white", "black", "crimson"])
    for ax, i, what in ((axes[1], 0, "clean"), (axes[2], 1, "PGD")):
        cells = both + 2 * (last[:, i, top] & (1 - both))  # 0 silent, 1 in both, 2 only here
        ax.imshow(cells.T, cmap=cmap, vmin=0, vmax=2, aspect="auto", origin="lower",
                  interpolation="nearest")
        ax.grid(False)
        ax.set_xticks(range(T))
        ax.set_xlabel("timestep")
        ax.set_title(f"{names[-1]} raster, {what}: class {class_name(r, int(g.pred[i]))}")
        ax.legend(handles=[matplotlib.patches.Patch(color="black", label="spike in both"),
                           matplotlib.patches.Patch(color="crimson", label=f"only {what}")],
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes[1].set_ylabel(f"neuron ({len(top)} of {last.shape[-1]}: most changed by PGD)")
    fig.suptitle(f"{label}: test image {idx}, label {class_name(r, int(y[idx]))}")
    fig.tight_layout()
    save(fig, f"activity_{slug(label)}")

# %% [markdown]
# ## 7. Bit-exactness: QAT PyTorch model vs integer golden model
#
# `quant.verify.compare` on the run's saved clean, FGSM and PGD codes: the fraction of images
# whose class, readout accumulators and every spike of every layer agree. All bars must be
# at 1.0.

# %%
from quant.checkpoint import load as load_checkpoint
from quant.verify import compare

KINDS = ("prediction", "accumulator", "spikes")
results = {}
for label, r in runs.items():
    v = r["vectors"]
    missing = [name for name, ok in (("checkpoint.pt", r["checkpoint"]), ("ir/", r["ir"] is not None),
                                      ("vectors.npz", v is not None)) if not ok]
    if missing:
        print(f"{label}: no {', '.join(missing)} (rate-coded and float runs have no hardware IR), skipped")
        continue
    model, _ = load_checkpoint(r["path"])
    results[label] = {}
    for s in SETS:
        codes = v[s][:VERIFY_LIMIT]
        agree, preds = compare(model, r["ir"], codes, progress=False)
        results[label][s] = agree
        n = len(codes)
        print(f"{label:>12} {s:>5}: {n} images, " + ", ".join(
            f"{k} {int(agree[k].sum())}/{n}" for k in KINDS)
            + f"; golden accuracy {(preds == v['labels'][:n]).mean():.3f}")

if results:
    fig, axes = plt.subplots(1, len(results), figsize=(4.6 * len(results), 3.4), squeeze=False,
                             sharey=True)
    for ax, (label, res) in zip(axes[0], results.items()):
        w = 0.8 / len(KINDS)
        for k, kind in enumerate(KINDS):
            vals = [res[s][kind].mean() for s in SETS]
            b = ax.bar(np.arange(len(SETS)) + (k - 1) * w, vals, w, label=kind,
                       color=plt.cm.Set2(k))
            ax.bar_label(b, [f"{int(res[s][kind].sum())}/{len(res[s][kind])}" for s in SETS],
                         label_type="center", rotation=90, fontsize=8)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(range(len(SETS)), [f"{s}\n({len(res[s]['prediction'])} images)" for s in SETS])
        ax.set_ylim(0, 1.3)
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.set_title(label)
        ax.legend(loc="upper center", ncol=3, fontsize=8, title="images that agree in",
                  title_fontsize=8)
    axes[0, 0].set_ylabel("fraction of images that agree")
    fig.suptitle("QAT model vs golden model (all bars must be at 1.0)")
    fig.tight_layout()
    save(fig, "bitexact")

# %% [markdown]
# ## 8. Hardware: latency of the generated HLS project
#
# Busy cycles per image of each dataflow stage, from the cycle model (a token-level simulation
# of the dataflow with its FIFOs), against the 100 us budget. The stages overlap, so the image
# latency (dark) is less than their sum; the busiest stage sets the interval between images.

# %%
lat_path = HLS_PROJECT / "latency.json"
if not lat_path.is_file():
    print(f"no HLS project at {HLS_PROJECT} (no latency.json): section skipped; "
          "make one with `python -m hls.generate RUN --out DIR` and set HLS_PROJECT=DIR")
else:
    lat = json.loads(lat_path.read_text())
    mhz = lat["clock_mhz"]
    stages = lat["layers"]
    names = [f"{s['stage']} ({s['kernel']})" for s in stages] + ["image latency"]
    cycles = [s["busy_cycles_per_image"] for s in stages] + [lat["cycles_per_image"]]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(names) + 1.2))
    b = ax.barh(range(len(stages)), cycles[:-1], color="#7fa7d6")
    ax.bar_label(b, [f"{c:,.0f}" for c in cycles[:-1]], fontsize=8, padding=3)
    b = ax.barh([len(stages)], cycles[-1:], color="#1f3b73")
    ax.bar_label(b, [f"{cycles[-1]:,.0f} cycles = {lat['latency_us']:g} µs"], label_type="center",
                 color="white", fontsize=9)
    budget = 100 * mhz
    ax.axvline(budget, color="crimson", ls="--", label=f"budget: 100 µs at {mhz:g} MHz ({budget:,.0f} cycles)")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("cycles per image")
    ax.set_xlim(0, max(max(cycles), budget) * 1.18)
    ax.legend(loc="upper right")
    ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title(f"HLS project {HLS_PROJECT.name}: T={lat['timesteps']}, assumed spike rate "
                 f"{get(lat, 'assumptions', 'spike_rate', default='?')}")
    save(fig, "hardware")
    print(f"latency_us {lat['latency_us']} ({lat['cycles_per_image']:,.0f} cycles at {mhz:g} MHz), "
          f"interval {lat['interval_between_images']:,.0f} cycles ({lat['images_per_s']:,.0f} images/s), "
          f"slowest stage {lat['slowest_stage']}, bound {lat['bound_cycles_per_image']:,.0f} cycles")
    report = HLS_PROJECT / "csim_report.json"
    if report.is_file():
        rep = json.loads(report.read_text())
        if "model_cycles_per_image" in rep:
            print(f"on the {rep['model_images']} C-simulated images: {rep['model_cycles_per_image']:,.0f} "
                  f"cycles per image, one image every {rep['model_interval_between_images']:,.0f} cycles")

# %% [markdown]
# ## Figures
#
# Every figure above is also in `HIRE_FIGURES` (default `build/figures`): `summary.png`,
# `robustness.png`, with robustness.json `robustness_per_attack.png`, `worst_case_vs_eps.png`,
# `methods.png`, `energy_vs_robustness.png`, then `spikes_energy.png`, `attacks_<run>.png`,
# `activity_<run>.png`, `bitexact.png` and, with an HLS project, `hardware.png`.

# %%
for p in SAVED:
    print(f"{p}  ({p.stat().st_size // 1024} KiB)")
