"""Figures and a results table from run folders: the strong suite's numbers, side by side.

    python -m train.report runs/cmp --out build/report       # or: make report [REPORT_RUNS=...]

Reads every run folder given (or found below a given folder) that holds metrics.json and
robustness.json (written by `python -m train.robustness RUN`), groups the runs that differ only
in their seed, and writes into --out:

  results.md                   the table: per group, seeds, T, clean, worst case per eps (mean
                               and spread over seeds), the best white-box and black-box attack,
                               energy per image, training time; then one row per run
  report.json                  the same numbers
  robustness_per_attack.png    accuracy vs eps per attack, one panel per group (seed means)
  worst_case_vs_eps.png        worst case vs eps, one line per group (bars: min..max over seeds),
                               with the gradient-masking check's PGD curve dotted
  methods.png                  clean and worst case per eps, group by group (mean, min..max)
  energy_vs_robustness.png     energy per image against worst case at the largest eps, per run
  cost_vs_robustness.png       worst case at the largest eps against training seconds per
                               epoch, one point per group (whiskers: min..max over seeds): the
                               cost-robustness front of HIRE, standard and adversarial training

Nothing is computed anew: every number comes from the run folders. Torch-free (the notebook
imports it). Exit status: 0 written, 2 an error (no run folder with robustness.json).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from core.atomic import atomic_file
from core.errors import FlowError, cli, run_cli

DEFAULT_OUT = Path("build/report")
# training settings that tell groups apart (the seed does not: runs differing only in it are one group)
GROUP_KEYS = ("method", "encoding", "timesteps", "quant", "periods", "train_eps", "eps_ramp",
              "noise_step", "noise_init", "consistency", "ema", "surrogate", "leak_shift", "epochs",
              "train_limit", "batch_size", "lr", "arch", "dataset", "at_steps", "at_step")
HIRE_ONLY = ("periods", "eps_ramp", "noise_step", "noise_init", "consistency")
DEFAULTS = {"eps_ramp": 0.0, "noise_step": 1.0, "noise_init": "clean", "consistency": 0.0, "ema": 0.0}


class ReportError(FlowError):
    pass


# -- loading ----------------------------------------------------------------------------------
def find_runs(paths) -> list[Path]:
    """Run folders (metrics.json + robustness.json) among `paths` and up to two levels below."""
    found = []
    for p in map(Path, paths):
        cands = [p] + sorted(p.glob("*/")) + sorted(p.glob("*/*/")) if p.is_dir() else []
        for c in cands:
            if (c / "metrics.json").is_file() and (c / "robustness.json").is_file():
                if c.resolve() not in {f.resolve() for f in found}:
                    found.append(c)
    return found


def load(run) -> dict:
    run = Path(run)
    m = json.loads((run / "metrics.json").read_text())
    r = json.loads((run / "robustness.json").read_text())
    cfg = dict(m.get("config") or {})
    for k, v in DEFAULTS.items():
        cfg.setdefault(k, v)
    if not str(cfg.get("method")).startswith("hire"):
        for k in HIRE_ONLY:
            cfg[k] = None
    if cfg.get("method") == "standard":      # the one method without a training budget
        cfg["train_eps"] = None
    cfg["timesteps"] = (m.get("model") or {}).get("timesteps", cfg.get("timesteps"))
    cfg["encoding"] = (m.get("model") or {}).get("encoding", cfg.get("encoding"))
    secs = m.get("train_seconds_per_epoch") or []
    return {"path": str(run), "name": run.name, "config": cfg, "seed": m.get("seed", cfg.get("seed")),
            "clean_all": m.get("clean_acc"), "energy_uj": (m.get("energy_pj_per_image") or math.nan) / 1e6,
            "train_s_per_epoch": float(np.mean(secs)) if secs else math.nan,
            "train_s": float(np.sum(secs)) if secs else math.nan,
            "rob": r}


def _fmt_eps(e: float) -> str:
    k = e * 255
    return f"{k:.0f}/255" if abs(k - round(k)) < 1e-6 else f"{e:g}"


def group_runs(runs: list[dict]) -> list[dict]:
    """Runs that differ only in the seed form one group; labels name what differs between groups."""
    groups: dict = {}
    for r in runs:
        key = tuple(json.dumps(r["config"].get(k), sort_keys=True) for k in GROUP_KEYS)
        groups.setdefault(key, []).append(r)
    keys = list(groups)
    # what tells the groups apart (a setting only some methods have, e.g. HIRE's, counts where set)
    varying = [k for i, k in enumerate(GROUP_KEYS) if len({key[i] for key in keys} - {"null"}) > 1]
    out = []
    for key in keys:
        members = sorted(groups[key], key=lambda r: (r["seed"] is None, r["seed"]))
        out.append({"label": label(members[0]["config"], varying), "runs": members,
                    "config": members[0]["config"]})
    order = {"hire": 0, "standard": 1, "hire-replay": 2, "fgsm-at": 3, "pgd-at": 4}
    out.sort(key=lambda g: (g["config"].get("encoding") == "rate", order.get(g["config"].get("method"), 2),
                            g["label"]))
    return out


def label(cfg: dict, varying) -> str:
    name = {"hire": "HIRE", "standard": "standard", "hire-replay": "HIRE-replay", "fgsm-at": "FGSM-AT",
            "pgd-at": "PGD-AT"}.get(cfg.get("method"), str(cfg.get("method")))
    if cfg.get("encoding") == "rate":
        name = f"rate-coded ({name})"
    parts = []
    for k in varying:
        v = cfg.get(k)
        if k in ("method", "encoding") or v is None:
            continue
        if k == "train_eps":
            parts.append(f"eps {_fmt_eps(v)}")
        elif k == "periods":
            parts.append(f"N={v}")
        elif k == "timesteps":
            parts.append(f"T={v}")
        elif k == "eps_ramp":
            parts.append(f"ramp {v:g}" if v else "no ramp")
        elif k == "noise_step":
            parts.append(f"step {v:g}x")
        elif k == "noise_init":
            if v != DEFAULTS[k]:
                parts.append(f"{v} init")
        elif k == "leak_shift":
            ks = v if isinstance(v, list) else [v]
            parts.append("leak " + "/".join(f"{1 - 2.0 ** -int(k):g}" for k in ks))
        elif k == "consistency":
            if v:
                parts.append(f"KL {v:g}")
        elif k == "ema":
            if v:
                parts.append(f"EMA {v:g}")
        elif k == "arch":
            parts.append(str(v))
        elif k == "at_steps":
            parts.append(f"{v} step{'s' * (v != 1)}")
        elif k == "at_step":
            parts.append(f"step {v:.3g} eps")
        else:
            parts.append(f"{k} {v}")
    return name + (f", {', '.join(parts)}" if parts else "")


# -- numbers ----------------------------------------------------------------------------------
def eps_values(groups) -> list[float]:
    vals = set()
    for g in groups:
        for r in g["runs"]:
            vals |= {round(e["eps"], 8) for e in r["rob"]["results"]}
    return sorted(vals)


def _result(run, eps):
    for e in run["rob"]["results"]:
        if round(e["eps"], 8) == round(eps, 8):
            return e
    return None


def stats(values) -> dict:
    v = np.array([x for x in values if x is not None and not math.isnan(x)], float)
    if not len(v):
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "n": int(len(v))}


def summarize(groups) -> dict:
    eps = eps_values(groups)
    rows = []
    for g in groups:
        runs = g["runs"]
        row = {"label": g["label"], "method": g["config"].get("method"),
               "seeds": [r["seed"] for r in runs], "runs": [r["path"] for r in runs],
               "timesteps": g["config"].get("timesteps"), "clean": stats([r["rob"]["clean"] for r in runs]),
               "clean_all": stats([r["clean_all"] for r in runs]),
               "energy_uj": stats([r["energy_uj"] for r in runs]),
               "train_s_per_epoch": stats([r["train_s_per_epoch"] for r in runs]),
               "train_s": stats([r["train_s"] for r in runs]), "eps": {}}
        for e in eps:
            res = [_result(r, e) for r in runs]
            have = [x for x in res if x is not None]
            if not have:
                continue
            attacks = sorted({a for x in have for a in x["accuracy"]})
            row["eps"][e] = {
                "worst_case": stats([x["worst_case"] for x in have]),
                "white_box": stats([x.get("white_box") for x in have]),
                "attacks": {a: stats([x["accuracy"].get(a) for x in have]) for a in attacks},
                "flags": sum(1 for r in runs for f in r["rob"].get("flags", []) if _fmt_eps(e) in f
                             or f"{e:.4f}" in f)}
        rows.append(row)
    return {"eps": eps, "groups": rows}


def _pm(s, pct=True, digits=1):
    if s is None or s.get("mean") is None:
        return "-"
    k = 100 if pct else 1
    if s["n"] > 1:
        return f"{s['mean'] * k:.{digits}f} ± {s['std'] * k:.{digits}f}"
    return f"{s['mean'] * k:.{digits}f}"


def markdown(summary, runs) -> str:
    eps = summary["eps"]
    head = (["group", "seeds", "T", "clean (test set)", "clean (suite images)"]
            + [f"worst case {_fmt_eps(e)}" for e in eps]
            + [f"best white-box / black-box {_fmt_eps(eps[-1])}" if eps else "attacks",
               "energy (uJ/image)", "train s/epoch"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in summary["groups"]:
        last = g["eps"].get(eps[-1]) if eps else None
        if last:
            wb = [(a, s) for a, s in last["attacks"].items() if a.startswith("pgd-")]
            bb = [(a, s) for a, s in last["attacks"].items() if not a.startswith("pgd-")]
            best = lambda items: min(items, key=lambda t: t[1]["mean"]) if items else None  # noqa: E731
            parts = []
            for it in (best(wb), best(bb)):
                parts.append("-" if it is None else f"{it[0]} {_pm(it[1])}")
            att = " / ".join(parts)
        else:
            att = "-"
        cells = [g["label"], ",".join(str(s) for s in g["seeds"]), str(g["timesteps"]),
                 _pm(g["clean_all"], digits=2), _pm(g["clean"])]
        cells += [_pm(g["eps"][e]["worst_case"]) if e in g["eps"] else "-" for e in eps]
        cells += [att, _pm(g["energy_uj"], pct=False, digits=2), _pm(g["train_s_per_epoch"], pct=False)]
        lines.append("| " + " | ".join(cells) + " |")
    out = ["Accuracy in % (mean ± standard deviation over seeds) on the strong suite's images; "
           "worst case: per image, the minimum over clean and every attack.", ""] + lines
    # per run
    names = sorted({a for r in runs for e in r["rob"]["results"] for a in e["accuracy"]})
    head = ["run", "seed", "clean"] + [f"{a} {_fmt_eps(e)}" for e in eps for a in ["worst"]]
    out += ["", "Per run:", "", "| " + " | ".join(head + ["flags"]) + " |", "|" + "---|" * (len(head) + 1)]
    for r in runs:
        cells = [r["name"], str(r["seed"]), f"{r['rob']['clean'] * 100:.1f}"]
        for e in eps:
            x = _result(r, e)
            cells.append("-" if x is None else f"{x['worst_case'] * 100:.1f}")
        cells.append(str(len(r["rob"].get("flags", []))))
        out.append("| " + " | ".join(cells) + " |")
    if runs:
        r0 = runs[0]["rob"]
        st = r0.get("settings", {})
        out += ["", f"Suite: {r0['images']} test images from {r0['offset']}; attacks: "
                    f"{', '.join(names)}; PGD {st.get('steps')} steps x {st.get('restarts')} restarts, "
                    f"Square {st.get('square_queries')} queries."]
    return "\n".join(out) + "\n"


# -- figures ----------------------------------------------------------------------------------
def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False) if not matplotlib.get_backend() else None
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 130, "savefig.bbox": "tight",
                         "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.grid": True, "grid.alpha": 0.3})
    return plt


def _colors(groups):
    import matplotlib.pyplot as plt
    return {g["label"]: plt.cm.tab10(i % 10) for i, g in enumerate(groups)}


def fig_per_attack(summary):
    plt = _plt()
    gs = summary["groups"]
    ncol = min(len(gs), 3)
    nrow = -(-len(gs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 3.6 * nrow), squeeze=False,
                             sharey=True)
    for ax in axes.flat[len(gs):]:
        ax.axis("off")
    names = sorted({a for g in gs for e in g["eps"].values() for a in e["attacks"]})
    cmap = {a: plt.cm.tab20(i % 20) for i, a in enumerate(names)}
    for ax, g in zip(axes.flat, gs):
        eps = sorted(g["eps"])
        for a in names:
            pts = [(0.0, g["clean"]["mean"])] + [(e, g["eps"][e]["attacks"][a]["mean"]) for e in eps
                                                 if a in g["eps"][e]["attacks"]]
            xs, ys = zip(*pts)
            ax.plot(np.array(xs) * 255, ys, "o-" if a.startswith("pgd") else "s--", ms=3,
                    color=cmap[a], label=a)
        ws = [(0.0, g["clean"]["mean"])] + [(e, g["eps"][e]["worst_case"]["mean"]) for e in eps]
        xs, ys = zip(*ws)
        ax.plot(np.array(xs) * 255, ys, "k-", lw=2.5, label="worst case")
        ax.set_title(g["label"], fontsize=9)
        ax.set_xlabel("eps (x/255)")
        ax.set_ylim(0, 1)
    for row in axes:
        row[0].set_ylabel("accuracy")
    axes.flat[len(gs) - 1].legend(fontsize=7, loc="upper right")
    fig.suptitle("Accuracy under each attack of the strong suite (mean over seeds)")
    fig.tight_layout()
    return fig


def fig_worst_vs_eps(summary, runs_by_group=None):
    plt = _plt()
    gs = summary["groups"]
    col = _colors(gs)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for g in gs:
        eps = [0.0] + sorted(g["eps"])
        mean = [g["clean"]["mean"]] + [g["eps"][e]["worst_case"]["mean"] for e in eps[1:]]
        lo = [g["clean"]["min"]] + [g["eps"][e]["worst_case"]["min"] for e in eps[1:]]
        hi = [g["clean"]["max"]] + [g["eps"][e]["worst_case"]["max"] for e in eps[1:]]
        x = np.array(eps) * 255
        ax.errorbar(x, mean, yerr=[np.subtract(mean, lo), np.subtract(hi, mean)], fmt="o-",
                    capsize=3, color=col[g["label"]], label=g["label"])
        mk = (runs_by_group or {}).get(g["label"])
        if mk:
            ax.plot(np.array(mk[0]) * 255, mk[1], ":", color=col[g["label"]])
    ax.set_xlabel("eps (x/255)")
    ax.set_ylabel("worst-case accuracy")
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.legend(fontsize=8, title="dotted: masking check (white-box PGD)", title_fontsize=7)
    ax.set_title("Worst case over the strong suite vs eps")
    return fig


def fig_methods(summary):
    plt = _plt()
    gs = summary["groups"]
    col = _colors(gs)
    cats = ["clean"] + [f"worst {_fmt_eps(e)}" for e in summary["eps"]]
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(cats) * max(1, len(gs)) / 3, 4))
    w = 0.8 / max(len(gs), 1)
    for i, g in enumerate(gs):
        st = [g["clean"]] + [g["eps"].get(e, {}).get("worst_case", stats([])) for e in summary["eps"]]
        mean = [s["mean"] if s["mean"] is not None else 0 for s in st]
        err = [[m - (s["min"] if s["min"] is not None else m) for m, s in zip(mean, st)],
               [(s["max"] if s["max"] is not None else m) - m for m, s in zip(mean, st)]]
        xs = np.arange(len(cats)) + (i - (len(gs) - 1) / 2) * w
        b = ax.bar(xs, mean, w, yerr=err, capsize=3, color=col[g["label"]],
                   label=f"{g['label']} ({len(g['seeds'])} seed{'s' * (len(g['seeds']) > 1)})")
        ax.bar_label(b, [f"{m * 100:.0f}" for m in mean], fontsize=7, padding=2)
    ax.set_xticks(range(len(cats)), cats)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy (bars: mean, whiskers: min..max)")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Clean and worst-case accuracy per method")
    return fig


def fig_energy(summary, runs, groups):
    plt = _plt()
    col = _colors(groups)
    e_last = summary["eps"][-1] if summary["eps"] else None
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for g in groups:
        xs = [r["energy_uj"] for r in g["runs"]]
        ys = [(_result(r, e_last) or {}).get("worst_case", math.nan) for r in g["runs"]]
        ax.scatter(xs, ys, color=col[g["label"]], label=f"{g['label']} (T={g['config'].get('timesteps')})",
                   s=40, edgecolor="black", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("SNN compute energy per image (uJ, 45 nm)")
    ax.set_ylabel(f"worst-case accuracy at eps {_fmt_eps(e_last) if e_last else '-'}")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("Energy vs robustness, one point per run")
    return fig


def fig_cost(summary, costs: dict | None = None):
    """Worst case at the largest eps against training seconds per epoch, one point per group:
    the runs' own epoch times, or with `costs` (bench/bench_train.py --methods JSON: every
    method timed side by side) the method's benchmarked seconds per 60000-image epoch."""
    plt = _plt()
    gs = summary["groups"]
    col = _colors(gs)
    e_last = summary["eps"][-1] if summary["eps"] else None
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for g in gs:
        t, w = g["train_s_per_epoch"], g["eps"].get(e_last, {}).get("worst_case", stats([]))
        if costs is not None:
            bench = costs.get("methods", {}).get(g.get("method"))
            t = stats([bench["seconds_per_60k_epoch"]] if bench else [])
        if t["mean"] is None or w["mean"] is None:
            continue
        ax.errorbar(t["mean"], w["mean"], xerr=[[t["mean"] - t["min"]], [t["max"] - t["mean"]]],
                    yerr=[[w["mean"] - w["min"]], [w["max"] - w["mean"]]], fmt="o", capsize=3,
                    color=col[g["label"]], markeredgecolor="black",
                    label=f"{g['label']} ({len(g['seeds'])} seed{'s' * (len(g['seeds']) > 1)})")
    ax.set_xlabel("training time per epoch (s, whiskers: min..max over seeds)" if costs is None
                  else "training time per epoch, methods timed side by side (s, bench_train "
                       "--methods)")
    ax.set_ylabel(f"worst-case accuracy at eps {_fmt_eps(e_last) if e_last else '-'}")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Cost against robustness: what each training method buys per second")
    return fig


def masking_curves(groups) -> dict:
    """label -> (eps, mean accuracy) of the masking check, over the group's runs that have one."""
    out = {}
    for g in groups:
        mks = [r["rob"].get("masking") for r in g["runs"] if r["rob"].get("masking")]
        if mks and all(m["eps"] == mks[0]["eps"] for m in mks):
            out[g["label"]] = (mks[0]["eps"], list(np.mean([m["accuracy"] for m in mks], axis=0)))
    return out


def figures(summary, runs, groups, costs=None) -> dict:
    return {"robustness_per_attack": fig_per_attack(summary),
            "worst_case_vs_eps": fig_worst_vs_eps(summary, masking_curves(groups)),
            "methods": fig_methods(summary),
            "energy_vs_robustness": fig_energy(summary, runs, groups),
            "cost_vs_robustness": fig_cost(summary, costs)}


def load_costs(path) -> dict:
    """bench/bench_train.py --methods' JSON (seconds per epoch of every method)."""
    try:
        costs = json.loads(Path(path).read_text())
        assert all("seconds_per_60k_epoch" in v for v in costs["methods"].values())
    except (OSError, ValueError, KeyError, TypeError, AttributeError, AssertionError) as e:
        raise ReportError(f"--costs {path}: not a `bench/bench_train.py --methods` result ({e!r});"
                          " make one with `python bench/bench_train.py --methods`") from e
    return costs


def build(paths, out=None, log=print, costs: dict | None = None) -> dict:
    """Load, summarize; with `out`, write results.md, report.json and the PNGs there."""
    found = find_runs(paths)
    if not found:
        raise ReportError(f"no run folder with metrics.json and robustness.json in "
                          f"{', '.join(map(str, paths))}; run `python -m train.robustness RUN` first")
    runs = [load(p) for p in found]
    groups = group_runs(runs)
    summary = summarize(groups)
    md = markdown(summary, runs)
    result = {"summary": summary, "markdown": md, "runs": runs, "groups": groups}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_file(out / "results.md") as tmp:
            tmp.write_text(md)
        with atomic_file(out / "report.json") as tmp:
            tmp.write_text(json.dumps({**summary, "eps": summary["eps"]}, indent=1, default=str) + "\n")
        plt = _plt()
        for name, fig in figures(summary, runs, groups, costs).items():
            with atomic_file(out / f"{name}.png") as tmp:
                fig.savefig(tmp, format="png")
            plt.close(fig)
            log(f"wrote {out / name}.png")
        log(f"wrote {out / 'results.md'} ({len(runs)} runs in {len(groups)} groups)")
    return result


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="*", default=["runs"],
                    help="run folders, or folders holding them (default runs/)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--costs", metavar="JSON",
                    help="cost_vs_robustness.png's x: the methods' seconds per epoch from "
                         "`python bench/bench_train.py --methods` (timed side by side) instead "
                         "of each run's own clock (skewed when runs shared the cores)")
    a = ap.parse_args(argv)
    res = build(a.runs, a.out, costs=load_costs(a.costs) if a.costs else None)
    print(res["markdown"])
    print(json.dumps({"out": a.out, "runs": len(res["runs"]), "groups": [g["label"] for g in res["groups"]]}))
    return 0


if __name__ == "__main__":
    run_cli(main)
