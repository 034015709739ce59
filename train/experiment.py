"""One run of the flow's software half: train, export, attack, measure energy, write the run folder."""
from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from quant import checkpoint as ckpt
from core.atomic import atomic_file
from quant.export import ExportError, to_ir
from core import ir as IR
from quant.model import ModelConfig, QuantSNN
from train import attacks, data, energy
from train.hire import hire_step, standard_step


class ExperimentError(RuntimeError):
    pass


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        # TF32 would round the products; exactness needs true fp32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch.device(name)


def seed_everything(seed: int):
    torch.manual_seed(seed)
    np.random.seed(seed)


def build_model(args, seed: int) -> QuantSNN:
    in_shape, n_classes = data.info(args.dataset)
    torch.manual_seed(seed)
    return QuantSNN(ModelConfig(arch=args.arch, in_shape=in_shape, n_classes=n_classes,
                                quant=args.quant, timesteps=args.timesteps,
                                leak_shift=args.leak_shift, v_th=args.v_th,
                                surrogate=args.surrogate, encoding=args.encoding))


class ScheduledOptimizer:
    """An optimizer whose every step also advances the LR schedule (HIRE steps N times per batch)."""

    def __init__(self, opt, sched):
        self.opt, self.sched = opt, sched

    def zero_grad(self, set_to_none=True):
        self.opt.zero_grad(set_to_none=set_to_none)

    def step(self):
        self.opt.step()
        self.sched.step()


def train_model(model, x, y, args, epochs, method, seed, device, desc="train"):
    """Adam with a one-cycle schedule over all optimizer steps; returns seconds per epoch."""
    model.to(device).train()
    g = torch.Generator().manual_seed(seed)
    steps_per_batch = args.periods if method == "hire" else 1
    n_batches = (len(x) + args.batch_size - 1) // args.batch_size
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr,
                                                total_steps=epochs * n_batches * steps_per_batch)
    opt = ScheduledOptimizer(opt, sched)
    rate_fn = (lambda xb, T: attacks.poisson(xb, T, generator=g)) if args.encoding == "rate" else None
    seconds = []
    for ep in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        t0 = time.perf_counter()
        bar = tqdm(range(n_batches), desc=f"{desc} epoch {ep + 1}/{epochs}", unit="batch",
                   disable=args.no_progress, leave=False)
        losses = []
        for b in bar:
            idx = perm[b * args.batch_size:(b + 1) * args.batch_size]
            xb, yb = x[idx].to(device), y[idx].to(device)
            if method == "hire":
                loss = hire_step(model, opt, xb, yb, args.timesteps, args.periods, args.train_eps, rate_fn)
            else:
                loss = standard_step(model, opt, xb, yb, args.timesteps, rate_fn)
            losses.append(loss)
            if b % 20 == 0:
                bar.set_postfix(loss=f"{loss:.3f}")
        seconds.append(time.perf_counter() - t0)
        tqdm.write(f"{desc} epoch {ep + 1}/{epochs}: loss {sum(losses) / len(losses):.4f}, "
                   f"{seconds[-1]:.1f} s ({len(x) / seconds[-1]:.0f} images/s)")
    model.eval()
    return seconds


def pgd_kw(args, eps):
    step = args.pgd_step if eps <= args.eps else max(args.pgd_step, 2.5 * eps / args.pgd_steps)
    return dict(steps=args.pgd_steps, step=step, random_start=not args.no_random_start, seed=args.seed)


def default_out(args) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{args.dataset}-{args.method}-{args.quant}-{stamp}"


def link_latest(out: Path, runs=Path("runs")):
    """Point runs/latest at the newest run (relative inside runs/, absolute elsewhere)."""
    runs.mkdir(parents=True, exist_ok=True)
    same = out.resolve().parent == runs.resolve()
    tmp = runs / f".latest.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(out.name if same else out.resolve())
    os.replace(tmp, runs / "latest")


class Experiment:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out) if args.out else default_out(args)
        self.device = pick_device(args.device)

    def log(self, msg):
        tqdm.write(msg) if not self.args.no_progress else print(msg, flush=True)

    def run(self) -> dict:
        a = self.args
        try:
            xtr, ytr = data.load(a.dataset, "train", a.data_dir, a.train_limit)
            xte, yte = data.load(a.dataset, "test", a.data_dir, a.test_limit)
        except data.DataError as e:
            raise ExperimentError(str(e)) from e
        if self.out.exists() and any(self.out.iterdir()):
            if not (self.out / "metrics.json").exists() and not (self.out / "checkpoint.pt").exists():
                raise ExperimentError(f"--out {self.out} exists and is not a run folder")
        self.out.mkdir(parents=True, exist_ok=True)
        seed_everything(a.seed)
        model = build_model(a, a.seed)
        self.log(f"training {a.arch} ({a.quant}, T={a.timesteps}, {a.encoding}) on {len(xtr)} "
                 f"{a.dataset} images with {a.method} on {self.device}")
        secs = train_model(model, xtr, ytr, a, a.epochs, a.method, a.seed, self.device)
        model.cpu()
        ckpt.save(self.out / "checkpoint.pt", model, extra={"args": vars(a)})
        ir_info = self.export(model)

        clean_acc = attacks.accuracy(model, xte, yte, seed=a.seed)
        n_att = min(a.attack_limit, len(xte))
        xa, ya = xte[:n_att], yte[:n_att]
        kw = dict(progress=not a.no_progress)
        x_fgsm = attacks.fgsm(model, xa, ya, a.eps, seed=a.seed, **kw)
        x_pgd = attacks.pgd(model, xa, ya, a.eps, **pgd_kw(a, a.eps), **kw)
        fgsm_acc, pgd_acc = attacks.accuracy(model, x_fgsm, ya), attacks.accuracy(model, x_pgd, ya)
        sweep = [{"attack": "fgsm", "eps": a.eps, "acc": fgsm_acc},
                 {"attack": "pgd", "eps": a.eps, "acc": pgd_acc}]
        for eps in a.sweep_eps:
            if eps == a.eps:
                continue
            for name in ("fgsm", "pgd"):
                x_adv = attacks.run_attack(name, model, xa, ya, eps, batch_size=256, **kw,
                                           **(pgd_kw(a, eps) if name == "pgd" else {"seed": a.seed}))
                sweep.append({"attack": name, "eps": eps, "acc": attacks.accuracy(model, x_adv, ya)})
        sweep.sort(key=lambda r: (r["attack"], r["eps"]))
        blackbox = self.blackbox(model, xtr, ytr, xa, ya)

        rates = energy.spike_rates(model, xa)
        en = energy.energy(model, rates)
        if model.bits is not None:
            self.save_vectors(model, xa, x_fgsm, x_pgd, ya)
        metrics = {
            "config": dict(vars(a)), "seed": a.seed,
            "model": model.cfg.to_dict(),
            "clean_acc": clean_acc, "clean_images": len(xte),
            "attack_images": n_att, "eps": a.eps, "fgsm_acc": fgsm_acc, "pgd_acc": pgd_acc,
            "pgd": pgd_kw(a, a.eps), "sweep": sweep, "blackbox": blackbox,
            "spike_rates": rates, "energy_pj_per_image": en["snn_pj_per_image"], "energy": en,
            "train_seconds_per_epoch": secs, "train_images": len(xtr),
            "ir": ir_info, "device": str(self.device),
            "host": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                     "python": platform.python_version(), "torch": torch.__version__},
        }
        with atomic_file(self.out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(metrics, indent=2) + "\n")
        link_latest(self.out)
        self.summary(metrics)
        return metrics

    def export(self, model):
        if model.bits is None or model.cfg.encoding != "direct":
            return {"exported": False, "why": "float or rate-coded models have no hardware IR"}
        try:
            mj, w = to_ir(model)
            IR.save(self.out / "ir", mj, w)
        except (ExportError, IR.IRError) as e:
            return {"exported": False, "why": str(e)}
        return {"exported": True, "path": "ir",
                "widths": {L["name"]: {k: L[k] for k in L if k.endswith("_bits") and k != "weight_bits"}
                           for L in mj["layers"] if "weights" in L}}

    def blackbox(self, model, xtr, ytr, xa, ya):
        a = self.args
        if a.blackbox_epochs == 0:
            return None
        src_seed = a.seed + 1000
        seed_everything(src_seed)
        src = build_model(a, src_seed)
        train_model(src, xtr, ytr, a, a.blackbox_epochs, "standard", src_seed, self.device,
                    desc="black-box source")
        src.cpu()
        kw = dict(progress=not a.no_progress)
        return {"source": f"standard, seed {src_seed}, {a.blackbox_epochs} epoch(s)", "eps": a.eps,
                "fgsm_acc": attacks.transfer(src, model, xa, ya, a.eps, "fgsm", seed=a.seed, **kw),
                "pgd_acc": attacks.transfer(src, model, xa, ya, a.eps, "pgd", **pgd_kw(a, a.eps), **kw)}

    def save_vectors(self, model, x, x_fgsm, x_pgd, y):
        with atomic_file(self.out / "vectors.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, clean=model.input_codes(x).numpy(), fgsm=model.input_codes(x_fgsm).numpy(),
                         pgd=model.input_codes(x_pgd).numpy(), labels=y.numpy().astype(np.int64),
                         eps=np.float64(self.args.eps))

    def summary(self, m):
        a = self.args
        rows = [("run", str(self.out)),
                ("model", f"{a.arch} {a.quant} T={a.timesteps} {a.encoding}, {a.method}"
                          + (f" (N={a.periods}, train eps={a.train_eps:.4f})" if a.method == "hire" else "")),
                ("train s/epoch", f"{np.mean(m['train_seconds_per_epoch']):.1f}"),
                ("clean acc", f"{m['clean_acc']:.4f} ({m['clean_images']} images)"),
                (f"FGSM eps={a.eps:.4f}", f"{m['fgsm_acc']:.4f}"),
                (f"PGD-{a.pgd_steps} eps={a.eps:.4f}", f"{m['pgd_acc']:.4f}")]
        for r in m["sweep"]:
            rows.append((f"  sweep {r['attack']} eps={r['eps']:.4f}", f"{r['acc']:.4f}"))
        if m["blackbox"]:
            rows.append(("black-box FGSM / PGD", f"{m['blackbox']['fgsm_acc']:.4f} / {m['blackbox']['pgd_acc']:.4f}"))
        rows.append(("spike rates", ", ".join(f"{r['layer']} {r['rate']:.3f}" for r in m["spike_rates"])))
        rows.append(("energy pJ/image", f"SNN {m['energy']['snn_pj_per_image']:.3g}, ANN "
                     f"{m['energy']['ann_pj_per_image']:.3g} ({m['energy']['ratio_ann_over_snn']:.2f}x)"))
        rows.append(("hardware IR", "ir/" if m["ir"]["exported"] else m["ir"]["why"]))
        w = max(len(k) for k, _ in rows)
        print("\n".join(f"{k:<{w}}  {v}" for k, v in rows))
        print(f"metrics: {self.out / 'metrics.json'}")
