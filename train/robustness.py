"""The strong attack suite: worst-case robustness of a run, on the model as the hardware sees it.

    python -m train.robustness RUN                        # 300 test images from 5000, eps 8/255 and 0.1
    python -m train.robustness RUN --n 1000 --offset 0 --eps 0.05 0.1 --json out.json
    python -m train.robustness RUN --hardware             # + the score-based attack on the golden model

Every attack perturbs images x in [0, 1] inside the L-inf ball of radius eps; the model sees the
8-bit input codes of the result (what RUN/vectors.npz holds and the hardware receives), and an
image counts as robust only if the class (argmax of the readout accumulators, ties to the lowest
index, the hardware's rule) is still right. The attacks, by their names in the attack library
(train.attacks; this module is the suite over it: no attack is implemented here):

  pgd-ce:S, pgd-cw:S   white-box PGD through the surrogate gradient S, for every surrogate of
                       quant.lif (the attacker picks the gradient estimate): --steps signed steps
                       (default 50) from --restarts random starts (default 2), a step of eps/4
                       decaying to eps/40 (cosine), on the cross-entropy or the Carlini-Wagner
                       margin; per image the iterate the model got wrong (else the one of lowest
                       margin) is kept, and images already broken are not attacked further
  apgd-ce:S, apgd-dlr:S  AutoAttack's white-box pair (ART's APGD, cross-entropy and difference-
                       of-logits ratio) through each surrogate S: --steps iterations, one start
  square               score-based black box: ART's Square attack (--square-queries queries)
  transfer-snn         black box: PGD crafted on an independently trained standard SNN
  transfer-ann         black box: PGD crafted on a float ANN of the same topology

The transfer sources are trained with the flow's own functions (seeded; --source-epochs on the
training set) and cached by configuration under $HIRE_SNN_CACHE/transfer (default
~/.cache/hire-snn/transfer), so reruns and other runs of the same network reuse them.

Rate-coded runs are attacked with their Poisson input frozen to one seeded pattern shared by
all images (FrozenRate: what hardware with a per-image-reset generator does), so that they are
deterministic and every attack applies unchanged.

`worst_case` is, per image, the minimum over clean and all attacks (the image counts only if
every attack failed on it), as AutoAttack reports. The gradient-masking check runs white-box PGD
at growing eps up to --masking-eps (default 0.5, where a sound attack leaves almost nothing) on
the first --masking-n images, and flags a run whose accuracy does not fall to --masking-threshold,
rises with eps, or where a black-box attack beats every white-box one.

--hardware: a Square attack in code space that queries only the integer golden model
(core.golden, its readout accumulators as scores: what an attacker holding the device sees) on
the images of RUN/vectors.npz, writes its codes there as `hw_square` (atomically, the other
arrays kept) and checks that the QAT model classifies them as the golden model does. The C
simulation and the RTL then measure their accuracy on the same codes:

    python -m hls.csim RUN --attack hw_square        # or: make csim ATTACK=hw_square
    python -m rtl.simulate RUN --attack hw_square    # or: make rtl-sim ATTACK=hw_square

Prints a table and, last, one JSON object (also written to --json, default RUN/robustness.json,
merged with the eps already there when the images and settings are the same).
Exit status: 0 done; 1 a check failed (the masking check flagged the run, or the QAT and golden
models disagree on the hardware attack's images); 2 an error (missing run, bad flag).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads (see train/run.py)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from core.atomic import atomic_file  # noqa: E402
from core.errors import EXIT_MISMATCH, EXIT_OK, FlowError, RunError, cli, run_cli  # noqa: E402
from core.runs import DEFAULT_RUN, load_network, load_vectors  # noqa: E402
from quant import checkpoint as ckpt  # noqa: E402
from quant.lif import SURROGATES  # noqa: E402
from quant.model import ModelConfig  # noqa: E402
from quant.quantizers import INPUT_FRAC_BITS  # noqa: E402
from train import attacks, data  # noqa: E402

DEFAULT_EPS = (8 / 255, 0.1)
FAMILIES = attacks.families()   # every attack registered with a SuiteEntry (train/attacks)
HW_KEY = "hw_square"


class RobustnessError(FlowError):
    pass


@dataclass
class Settings:
    """Everything that defines the suite (stored with the results; merged runs must agree)."""

    steps: int = 50
    restarts: int = 2
    step_max: float = 0.25     # first PGD step, x eps
    step_min: float = 0.025    # last PGD step, x eps (cosine decay between)
    surrogates: tuple = SURROGATES
    square_queries: int = 5000    # AutoAttack's; 1000 left HIRE's worst case 5 points too high
    square_p_init: float = 0.3
    transfer_steps: int = 20
    source_epochs: int = 2
    source_train_limit: int | None = None
    families: tuple = FAMILIES
    seed: int = 0

    def key(self) -> dict:
        d = asdict(self)
        d["surrogates"], d["families"] = list(self.surrogates), list(self.families)
        return d

    def budget(self, sources: dict | None = None, progress: bool = True) -> attacks.Budget:
        """The attack library's budget of these settings (the transfer sources by kind)."""
        return attacks.Budget(seed=self.seed, progress=progress, steps=self.steps,
                              restarts=self.restarts, step_max=self.step_max,
                              step_min=self.step_min, queries=self.square_queries,
                              p_init=self.square_p_init, transfer_steps=self.transfer_steps,
                              sources=sources)


# -- the model's view -------------------------------------------------------------------------
def load_run(run) -> tuple[nn.Module, SimpleNamespace]:
    """(model in eval mode, the run's training config) of a run folder."""
    run = Path(run)
    if not run.exists():
        raise RunError(f"{run}: no such run folder; train one with `python train/run.py --quant 4bit`")
    model, extra = ckpt.load(run)
    cfg = extra.get("args")
    if cfg is None and (run / "metrics.json").is_file():
        cfg = json.loads((run / "metrics.json").read_text()).get("config")
    if cfg is None:
        raise RunError(f"{run}: the checkpoint has no training config and there is no metrics.json")
    return model, SimpleNamespace(**cfg)


def test_images(cfg, offset: int, n: int):
    """Test images offset..offset+n of the run's dataset (x float (n, C, H, W), y int64)."""
    try:
        x, y = data.load(cfg.dataset, "test", getattr(cfg, "data_dir", None), offset + n)
    except data.DataError as e:
        raise RunError(str(e)) from e
    if len(x) < offset + n:
        raise RobustnessError(f"--offset {offset} --n {n}: the {cfg.dataset} test set has "
                              f"{len(x)} images")
    return x[offset:offset + n], y[offset:offset + n]


def as_seen(model, x: torch.Tensor) -> torch.Tensor:
    """Images the way the hardware receives them: the 8-bit codes, back in [0, 1) units
    (float and rate-coded models take the image itself: they have no hardware input)."""
    if model.bits is None or model.cfg.encoding != "direct":
        return x
    return model.input_codes(x).to(torch.float32) / 2 ** INPUT_FRAC_BITS


def correct(model, x, y, seed: int = 0) -> np.ndarray:
    """Per image: classified right from its 8-bit codes (bool (N,))."""
    pred = attacks.predict(model, as_seen(model, x), seed=seed)
    return (pred == y.cpu().long()).numpy()


class FrozenRate(nn.Module):
    """A rate-coded model whose Poisson input is one fixed, seeded pattern: spikes_t = [x > U_t]
    with U (T, C, H, W) uniform, the same for every image, as hardware whose pseudo-random
    generator restarts with each image would produce. The model is then a deterministic function
    of the image (the attacker knows the pattern: the worst case of the random encoder), so every
    attack of the suite applies as it does to direct input. Gradient straight-through, as
    train.attacks.poisson."""

    def __init__(self, model, seed: int = 0):
        super().__init__()
        self.snn = model
        g = torch.Generator().manual_seed(int(seed) + 7)
        T = int(model.cfg.timesteps)
        self.register_buffer("u", torch.rand((T, 1, *model.cfg.in_shape), generator=g))
        self.cfg = ModelConfig(**{**model.cfg.to_dict(), "encoding": "direct"})
        self.bits = None
        self.blocks = model.blocks

    def forward(self, x, state=None, timesteps=None, record=False, keep_state=True):
        s = (x.unsqueeze(0) > self.u).to(x.dtype) + (x - x.detach()).unsqueeze(0)
        return self.snn(s, state=state, record=record, keep_state=keep_state)

    def logits(self, x, timesteps=None):
        return self(x)[0] / self.u.shape[0]



# -- the suite --------------------------------------------------------------------------------
def attack_names(st: Settings, model) -> list[str]:
    """The suite's attacks: every registered one of the chosen families, white-box ones through
    each chosen surrogate, in registration order."""
    return [n for n, e in attacks.SUITE.items() if e.family in st.families
            and (e.surrogate is None or e.surrogate in st.surrogates)]


def is_white_box(name: str) -> bool:
    return attacks.SUITE[name].white_box


def run_attack(name, model, x, y, eps, st: Settings, sources=None, progress=True):
    """x_adv of one attack of the suite (the library's attack `name` on the suite's budget)."""
    budget = st.budget(sources, progress)
    if name == "square":  # one ART generate over all images (its random draws are per batch)
        budget = replace(budget, batch_size=len(x))
    return attacks.run_attack(name, model, x, y, eps, budget)


def _clock():
    return time.perf_counter(), time.process_time()


def evaluate(model, cfg, x, y, eps_list, st: Settings, progress=True, log=print, cache=None):
    """The suite on images (x, y) at each eps: (clean, [per-eps result], per-image arrays)."""
    names = attack_names(st, model)
    sources = {}
    if "transfer" in st.families:
        for kind in attacks.SOURCES:
            w0, c0 = _clock()
            sources[kind] = attacks.transfer_source(kind, model, cfg, st.source_epochs,
                                                    st.source_train_limit, cache, progress, log)
            w1, c1 = _clock()
            if w1 - w0 > 1:
                log(f"transfer source {kind}: {w1 - w0:.0f} s ({c1 - c0:.0f} s CPU)")
    if model.cfg.encoding == "rate":
        model = FrozenRate(model, st.seed)
    ok_clean = correct(model, x, y, st.seed)
    results, per_image = [], {}
    for eps in eps_list:
        row = {"eps": eps, "accuracy": {}, "seconds": {}, "cpu_seconds": {}}
        ok_all = {}
        for name in names:
            w0, c0 = _clock()
            x_adv = run_attack(name, model, x, y, eps, st, sources, progress)
            w1, c1 = _clock()
            ok = correct(model, x_adv, y, st.seed)
            ok_all[name] = ok
            row["accuracy"][name] = float(ok.mean())
            row["seconds"][name] = round(w1 - w0, 2)
            row["cpu_seconds"][name] = round(c1 - c0, 2)
            log(f"  eps {eps:.4f} {name:<22} {ok.mean():.4f}  ({w1 - w0:.1f} s)")
        worst = ok_clean.copy()
        for ok in ok_all.values():
            worst &= ok
        wb = [n for n in names if is_white_box(n)]
        bb = [n for n in names if not is_white_box(n)]
        row["worst_case"] = float(worst.mean())
        if wb:
            ok_wb = np.logical_and.reduce([ok_all[n] for n in wb])
            row["white_box"] = float(np.logical_and(ok_wb, ok_clean).mean())
            row["best_white_box"] = min(wb, key=lambda n: row["accuracy"][n])
        if bb:
            row["best_black_box"] = min(bb, key=lambda n: row["accuracy"][n])
        if wb and bb:
            ok_bb = np.logical_and.reduce([ok_all[n] for n in bb])
            # images a black-box attack broke that survived every white-box one
            row["broken_only_by_black_box"] = int((ok_wb & ~ok_bb & ok_clean).sum())
        results.append(row)
        per_image[eps] = {"worst": worst, **ok_all}
    return float(ok_clean.mean()), results, per_image, model


def masking_check(model, x, y, eps_list, st: Settings, threshold: float, results,
                  progress=True, log=print) -> dict:
    """PGD (CE and CW through the trained surrogate) at growing eps; flags of gradient masking."""
    accs = []
    budget = replace(st.budget(progress=progress), restarts=1)
    for eps in eps_list:
        ok = correct(model, x, y, st.seed)
        for loss in attacks.LOSSES:
            x_adv = attacks.run_attack(f"pgd-{loss}", model, x, y, eps, budget)
            ok &= correct(model, x_adv, y, st.seed)
        accs.append(float(ok.mean()))
        log(f"  masking check eps {eps:.3f}: {ok.mean():.4f}")
    flags = []
    if accs and accs[-1] > threshold:
        flags.append(f"white-box PGD leaves {accs[-1]:.1%} at eps {eps_list[-1]:g}, where a sound "
                     f"attack wins (threshold {threshold:.0%}): gradient masking?")
    rises = [(a, b) for a, b in zip(eps_list, eps_list[1:])
             if accs[eps_list.index(b)] > accs[eps_list.index(a)] + 0.02]
    if rises:
        flags.append("accuracy rises with eps between " + ", ".join(f"{a:g} and {b:g}" for a, b in rises))
    for r in results:
        wb = [v for k, v in r["accuracy"].items() if is_white_box(k)]
        for k, v in r["accuracy"].items():
            if not is_white_box(k) and wb and v < min(wb):
                flags.append(f"eps {r['eps']:.4f}: black-box {k} ({v:.1%}) beats every white-box "
                             f"attack (best {min(wb):.1%})")
    return {"eps": list(eps_list), "images": len(x), "accuracy": accs,
            "threshold": threshold, "flags": flags, "ok": not flags}


# -- the hardware attack ----------------------------------------------------------------------
def eps_to_codes(eps: float) -> int:
    """The largest code step within eps: the input value is code * 2^-8."""
    return int(math.floor(eps * 2 ** INPUT_FRAC_BITS + 1e-9))


def hardware_attack(run, eps: float, queries: int, p_init: float, seed: int, key: str = HW_KEY,
                    progress: bool = True, log=print) -> dict:
    """Square attack on the golden model over RUN/vectors.npz; codes saved as `key`."""
    from core import golden
    run = Path(run)
    net = load_network(run)
    codes, labels = load_vectors(run, "none", None, net.in_shape)
    radius = eps_to_codes(eps)
    if key in ("clean", "fgsm", "pgd", "labels", "eps") or not key.isidentifier():
        raise RobustnessError(f"--hw-key {key!r}: choose a new array name")

    def scores(c):
        return golden.predict(net, c, chunk=250)[0]

    w0, c0 = _clock()
    adv, used = attacks.square_codes(scores, codes, labels, radius, queries, p_init, seed, progress,
                             desc=f"hardware square eps={eps:.4f}")
    w1, c1 = _clock()
    acc_g, pred_g = golden.predict(net, adv)
    pred_clean = golden.predict(net, codes)[1]
    # the QAT model on the same codes: it must classify them exactly as the golden model does
    model, _ = ckpt.load(run)
    pred_q = attacks.predict(model, torch.from_numpy(adv).float() / 2 ** INPUT_FRAC_BITS).numpy()
    path = run / "vectors.npz"
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays[key] = adv
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    n = len(labels)
    return {"key": key, "images": n, "eps": eps, "code_radius": radius, "queries": queries,
            "p_init": p_init, "seed": seed,
            "max_code_change": int(np.abs(adv.astype(np.int16) - codes.astype(np.int16)).max()),
            "clean_accuracy": float((pred_clean == labels).mean()),
            "golden_accuracy": float((pred_g == labels).mean()),
            "qat_accuracy": float((pred_q == labels).mean()),
            "qat_equals_golden": bool(np.array_equal(pred_q, pred_g)),
            "mean_queries": float(used.mean()), "seconds": round(w1 - w0, 1),
            "cpu_seconds": round(c1 - c0, 1),
            "check": [f"python -m hls.csim {run} --attack {key} --n {n}",
                      f"python -m rtl.simulate {run} --attack {key} --n {n}"]}


# -- output -----------------------------------------------------------------------------------
def table(report: dict) -> str:
    res = report["results"]
    if not res:
        return f"clean {report['clean']:.4f} ({report['images']} images)"
    names = list(res[0]["accuracy"])
    head = ["attack"] + [f"eps {r['eps']:.4f} ({r['eps'] * 255:.1f}/255)" for r in res]
    rows = [["clean"] + [f"{report['clean']:.4f}"] * len(res)]
    rows += [[n] + [f"{r['accuracy'][n]:.4f}" for r in res] for n in names]
    rows.append(["worst case"] + [f"{r['worst_case']:.4f}" for r in res])
    wid = [max(len(row[i]) for row in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, wid)) for row in [head] + rows]
    lines.insert(1, "  ".join("-" * w for w in wid))
    lines.insert(len(lines) - 1, "  ".join("-" * w for w in wid))
    return "\n".join(lines)


def merge(path: Path, report: dict) -> dict:
    """Add the eps results already in `path` that this run did not redo (same images and settings)."""
    if not path.is_file():
        return report
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return report
    same = all(old.get(k) == report.get(k) for k in ("offset", "images", "settings", "checkpoint"))
    if not same:
        return report
    have = {round(r["eps"], 8) for r in report["results"]}
    extra = [r for r in old.get("results", []) if round(r["eps"], 8) not in have]
    if extra:
        report["results"] = sorted(report["results"] + extra, key=lambda r: r["eps"])
    if "hardware" not in report and "hardware" in old:
        report["hardware"] = old["hardware"]
    if report.get("masking") is None and old.get("masking") is not None:
        report["masking"] = old["masking"]
    return report


def _checkpoint_id(run: Path) -> str:
    return hashlib.sha256((run / "checkpoint.pt").read_bytes()).hexdigest()[:16]


# -- CLI --------------------------------------------------------------------------------------
def _eps(s):
    from train.run import eps_value
    return eps_value(s)


def parser():
    ap = argparse.ArgumentParser(prog="python -m train.robustness", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder with checkpoint.pt (default {DEFAULT_RUN})")
    g = ap.add_argument_group("images and budgets")
    g.add_argument("--n", type=int, default=300, help="test images attacked (default 300)")
    g.add_argument("--offset", type=int, default=5000,
                   help="first test image (default 5000: outside the run's own vectors)")
    g.add_argument("--eps", type=_eps, nargs="+", default=list(DEFAULT_EPS),
                   help="L-inf budgets, floats or fractions (default 8/255 0.1)")
    g = ap.add_argument_group("attacks")
    g.add_argument("--attacks", default=",".join(FAMILIES),
                   help=f"families to run, comma-separated from {', '.join(FAMILIES)} or none "
                        "(default all)")
    g.add_argument("--steps", type=int, default=50, help="PGD steps per restart (default 50)")
    g.add_argument("--restarts", type=int, default=2, help="PGD random restarts (default 2)")
    g.add_argument("--step-max", type=float, default=0.25,
                   help="first PGD step as a fraction of eps (default 0.25)")
    g.add_argument("--step-min", type=float, default=0.025,
                   help="last PGD step as a fraction of eps, cosine decay between (default 0.025; "
                        "equal to --step-max: a constant step)")
    g.add_argument("--surrogates", default=",".join(SURROGATES),
                   help=f"surrogate gradients PGD goes through (default {','.join(SURROGATES)})")
    g.add_argument("--square-queries", type=int, default=Settings.square_queries,
                   help="Square attack queries (default 5000, AutoAttack's budget: on the default "
                        "run Square at 1000 left 42.3%% at eps 0.1, at 5000 34.0%%, below the whole "
                        "suite's per-image worst case with 1000 (39.3%%); docs/TRAINING.md)")
    g.add_argument("--square-p-init", type=float, default=0.3,
                   help="Square attack's initial fraction of pixels per square (default 0.3)")
    g.add_argument("--transfer-steps", type=int, default=20, help="PGD steps on the transfer sources")
    g.add_argument("--source-epochs", type=int, default=2, help="training epochs of the transfer sources")
    g.add_argument("--source-train-limit", type=int, default=None,
                   help="training images of the transfer sources (default all)")
    g.add_argument("--cache", default=None,
                   help="folder of the cached transfer sources (default $HIRE_SNN_CACHE/transfer "
                        "or ~/.cache/hire-snn/transfer)")
    g.add_argument("--seed", type=int, default=0)
    g = ap.add_argument_group("gradient-masking check")
    g.add_argument("--masking-eps", type=_eps, nargs="*", default=[0.1, 0.2, 0.3, 0.5],
                   help="budgets of the check (default 0.1 0.2 0.3 0.5; none: skip it)")
    g.add_argument("--masking-n", type=int, default=100, help="images of the check (default 100)")
    g.add_argument("--masking-threshold", type=float, default=0.05,
                   help="largest accuracy allowed at the last budget (default 0.05)")
    g = ap.add_argument_group("hardware attack")
    g.add_argument("--hardware", action="store_true",
                   help="also attack the golden model (scores only) on RUN/vectors.npz, saving hw_square")
    g.add_argument("--hw-eps", type=_eps, default=None, help="its budget (default the largest --eps)")
    g.add_argument("--hw-queries", type=int, default=300, help="its queries per image (default 300)")
    g.add_argument("--hw-key", default=HW_KEY, help=f"the array it writes (default {HW_KEY})")
    g = ap.add_argument_group("output")
    g.add_argument("--json", default=None, help="write the JSON here too (default RUN/robustness.json)")
    g.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    g.add_argument("--no-progress", action="store_true")
    return ap


@cli
def main(argv=None) -> int:
    ap = parser()
    a = ap.parse_args(argv)
    for flag in ("n", "steps", "restarts", "square_queries", "transfer_steps", "source_epochs",
                 "masking_n", "hw_queries", "threads"):
        if getattr(a, flag) < 1:
            ap.error(f"--{flag.replace('_', '-')} must be >= 1")
    if a.offset < 0:
        ap.error("--offset must be >= 0")
    fams = tuple(f for f in a.attacks.split(",") if f and f != "none")
    if any(f not in FAMILIES for f in fams):
        ap.error(f"--attacks: choose from {', '.join(FAMILIES)} or none")
    surs = tuple(s for s in a.surrogates.split(",") if s)
    if not surs or any(s not in SURROGATES for s in surs):
        ap.error(f"--surrogates: choose from {', '.join(SURROGATES)}")
    if not 0 < a.square_p_init <= 1:
        ap.error("--square-p-init must be in (0, 1]")
    if not 0 < a.step_min <= a.step_max:
        ap.error("--step-min and --step-max: need 0 < step-min <= step-max")
    torch.set_num_threads(a.threads)
    run = Path(a.run)
    st = Settings(steps=a.steps, restarts=a.restarts, step_max=a.step_max, step_min=a.step_min,
                  surrogates=surs,
                  square_queries=a.square_queries, square_p_init=a.square_p_init,
                  transfer_steps=a.transfer_steps, source_epochs=a.source_epochs,
                  source_train_limit=a.source_train_limit, families=fams, seed=a.seed)
    progress = not a.no_progress
    log = (lambda m: tqdm.write(m, file=sys.stderr)) if progress else (lambda m: print(m, file=sys.stderr))
    model, cfg = load_run(run)
    if a.hardware and model.cfg.encoding != "direct":
        raise RobustnessError("--hardware needs a run with a hardware IR (direct input, quantized)")
    x, y = test_images(cfg, a.offset, a.n)
    w0, c0 = _clock()
    clean, results, _, target = evaluate(model, cfg, x, y, sorted(a.eps), st, progress, log,
                                         Path(a.cache) if a.cache else None)
    w1, c1 = _clock()
    report = {"run": str(run), "checkpoint": _checkpoint_id(run), "method": cfg.method,
              "encoding": model.cfg.encoding, "timesteps": model.cfg.timesteps,
              "quant": model.cfg.quant, "offset": a.offset, "images": a.n, "clean": clean,
              "input_noise": ("rate-coded: one seeded Poisson pattern for every image (FrozenRate)"
                              if model.cfg.encoding == "rate" else None),
              "results": results, "settings": st.key(),
              "timing": {"suite_wall_s": round(w1 - w0, 1), "suite_cpu_s": round(c1 - c0, 1),
                         "torch_threads": torch.get_num_threads()}}
    flags = []
    if a.masking_eps:
        k = min(a.masking_n, a.n)
        w2, c2 = _clock()
        report["masking"] = masking_check(target, x[:k], y[:k], sorted(a.masking_eps), st,
                                          a.masking_threshold, results, progress, log)
        w3, c3 = _clock()
        report["timing"].update(masking_wall_s=round(w3 - w2, 1), masking_cpu_s=round(c3 - c2, 1))
        flags += report["masking"]["flags"]
    else:
        report["masking"] = None
    if a.hardware:
        hw = hardware_attack(run, a.hw_eps or max(a.eps), a.hw_queries, a.square_p_init, a.seed,
                             a.hw_key, progress, log)
        report["hardware"] = hw
        if not hw["qat_equals_golden"]:
            flags.append("the QAT model and the golden model disagree on the hardware attack's images")
    report["flags"] = flags
    out = Path(a.json) if a.json else run / "robustness.json"
    report = merge(out, report)
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))
    if report.get("masking"):
        mk = report["masking"]
        print("masking check (PGD-CE and CW, %d images): " % mk["images"]
              + ", ".join(f"eps {e:g} {v:.3f}" for e, v in zip(mk["eps"], mk["accuracy"])))
    if a.hardware:
        hw = report["hardware"]
        print(f"hardware attack ({hw['images']} images of vectors.npz, eps {hw['eps']:.4f}, "
              f"{hw['queries']} queries): golden {hw['golden_accuracy']:.4f} (clean "
              f"{hw['clean_accuracy']:.4f}), QAT model equal: {hw['qat_equals_golden']}; "
              f"check: {hw['check'][0]}")
    for f in flags:
        print(f"FLAG: {f}")
    print(f"suite: {report['timing']['suite_wall_s']} s wall, {report['timing']['suite_cpu_s']} s CPU "
          f"({a.n} images, {len(a.eps)} eps); written to {out}")
    print(json.dumps(report))
    return EXIT_MISMATCH if flags else EXIT_OK


if __name__ == "__main__":
    run_cli(main)
