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
from core.errors import FlowError
from quant.export import ExportError, to_ir
from core import ir as IR
from quant.model import ModelConfig, QuantSNN
from train import attacks, data, energy
from train.adversarial import AT_DEFAULTS, adversarial_step, at_settings
from train.hire import NoiseBank, hire_step, scheduled_eps, standard_step


class ExperimentError(FlowError):
    pass


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        # TF32 would round the products; exactness needs true fp32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        n = torch.cuda.device_count()
        if local_rank >= n:
            raise ExperimentError(f"process {local_rank} of this node has no GPU ({n} visible): "
                                  f"use --nproc_per_node <= {n} or --device cpu")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device(name)


class Dist:
    """This process's place in a torchrun job (WORLD_SIZE, RANK, LOCAL_RANK), or one process.

    Under torchrun every process trains on its slice of each minibatch with DistributedDataParallel
    (gloo on CPU, nccl on GPU); rank 0 alone writes the run folder and runs the attacks,
    the export and the energy report.
    """

    def __init__(self, world: int = 1, rank: int = 0, local_rank: int = 0):
        self.world, self.rank, self.local_rank = world, rank, local_rank
        self.backend = None

    @classmethod
    def from_env(cls) -> "Dist":
        """What torchrun set (WORLD_SIZE, RANK, LOCAL_RANK); one process when unset."""
        env = os.environ
        try:
            return cls(int(env.get("WORLD_SIZE", "1")), int(env.get("RANK", "0")),
                       int(env.get("LOCAL_RANK", "0")))
        except ValueError as e:
            raise ExperimentError(f"bad torchrun environment (WORLD_SIZE/RANK/LOCAL_RANK): {e}") from e

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def start(self, device: torch.device):
        if not self.enabled:
            return
        import torch.distributed as dist
        self.backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(self.backend)

    def stop(self):
        if self.enabled:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.destroy_process_group()

    def info(self, batch_size: int) -> dict:
        return {"world_size": self.world, "backend": self.backend or "none",
                "effective_batch": batch_size,
                "per_process_batch": -(-batch_size // self.world)}


def shard(idx: torch.Tensor, dist: "Dist") -> torch.Tensor:
    """This rank's contiguous slice of a global minibatch (sizes differ by at most one)."""
    return idx if not dist.enabled else idx.tensor_split(dist.world)[dist.rank]


def tune_allocator() -> bool:
    """Keep freed memory in the process (glibc: no mmap for big blocks, no trimming).

    Training frees and re-allocates the same tens of megabytes of activations every step; by
    default glibc returns them to the kernel and takes them back, page fault by page fault. On
    the 2-core host that cost 15-25k page faults and 20-30 ms of system time per HIRE step
    (~100 ms): wall time dropped by 20-30% without them. Peak memory is unchanged (the heap
    keeps what the peak step needed). HIRE_SNN_MALLOC=0 leaves glibc's defaults.
    """
    if os.environ.get("HIRE_SNN_MALLOC", "1") == "0" or platform.system() != "Linux":
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
        return bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)) and bool(libc.mallopt(M_MMAP_MAX, 0))
    except (OSError, AttributeError):  # not glibc
        return False


def seed_everything(seed: int):
    torch.manual_seed(seed)
    np.random.seed(seed)


def build_model(args, seed: int) -> QuantSNN:
    in_shape, n_classes = data.info(args.dataset)
    torch.manual_seed(seed)
    return QuantSNN(ModelConfig(arch=args.arch, in_shape=in_shape, n_classes=n_classes,
                                layers=list(getattr(args, "layers", None) or []),
                                quant=args.quant, timesteps=args.timesteps,
                                leak_shift=args.leak_shift, v_th=args.v_th,
                                surrogate=args.surrogate, encoding=args.encoding))


class ScheduledOptimizer:
    """An optimizer whose every step also advances the LR schedule (HIRE steps N times per batch)
    and, with `ema`, the exponential moving average of the weights."""

    def __init__(self, opt, sched, ema=None):
        self.opt, self.sched, self.ema = opt, sched, ema

    def zero_grad(self, set_to_none=True):
        self.opt.zero_grad(set_to_none=set_to_none)

    def step(self):
        self.opt.step()
        self.sched.step()
        if self.ema is not None:
            self.ema.update()


class WeightAverage:
    """Exponential moving average of a model's parameters (decay per optimizer step); `apply`
    copies it into the model. Costs one lerp over the ~20k parameters per step."""

    def __init__(self, model, decay: float):
        self.params = list(model.parameters())
        self.decay = float(decay)
        self.avg = [p.detach().clone() for p in self.params]
        self.n = 0

    @torch.no_grad()
    def update(self):
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))  # warm-up: early weights weigh less
        for a, p in zip(self.avg, self.params):
            a.lerp_(p.detach(), 1 - d)

    @torch.no_grad()
    def apply(self):
        for a, p in zip(self.avg, self.params):
            p.copy_(a)


def train_model(model, x, y, args, epochs, method, seed, device, desc="train", dist=None):
    """Adam with a one-cycle schedule over all optimizer steps; returns seconds per epoch.

    `args.batch_size` is the effective (global) minibatch. Under torchrun (`dist` enabled) every
    process takes its slice of each minibatch (the same permutation on all ranks) and
    DistributedDataParallel averages the weight gradients, so the optimizer sees the same
    effective batch, number of steps and learning-rate schedule as one process. A last
    minibatch smaller than the number of processes is dropped there.
    """
    dist = dist or Dist()
    model.to(device).train()
    g = torch.Generator().manual_seed(seed)
    steps_per_batch = args.periods if method.startswith("hire") else 1
    n_batches = (len(x) + args.batch_size - 1) // args.batch_size
    if dist.enabled and len(x) - (n_batches - 1) * args.batch_size < dist.world:
        n_batches -= 1
    if n_batches < 1:
        raise ExperimentError(f"{len(x)} training images cannot feed {dist.world} processes")
    net = model
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP
        net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None,
                  forward_sync_buffers=False)  # the buffers are Brevitas constants
        net.cfg = model.cfg
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr,
                                                total_steps=epochs * n_batches * steps_per_batch)
    ema_decay = float(getattr(args, "ema", 0.0) or 0.0)
    ema = WeightAverage(model, ema_decay) if ema_decay > 0 else None
    opt = ScheduledOptimizer(opt, sched, ema)
    # Poisson draws: one process keeps its historical generator; ranks draw independently
    g_rate = g if not dist.enabled else torch.Generator().manual_seed(seed + 7919 * (dist.rank + 1))
    rate_fn = (lambda xb, T: attacks.poisson(xb, T, generator=g_rate)) if args.encoding == "rate" else None
    quiet = args.no_progress or not dist.main
    ramp = float(getattr(args, "eps_ramp", 0.0) or 0.0)
    step_ratio = float(getattr(args, "noise_step", 1.0) or 1.0)
    init = getattr(args, "noise_init", "clean") or "clean"
    consistency = float(getattr(args, "consistency", 0.0) or 0.0)
    g_noise = torch.Generator().manual_seed(seed + 104729 * (dist.rank + 1))
    bank = NoiseBank(len(x), x.shape[1:]) if method.startswith("hire") and init == "persistent" else None
    if method in AT_DEFAULTS:
        at_steps, at_step = at_settings(method, getattr(args, "at_steps", None),
                                        getattr(args, "at_step", None))
    seconds = []
    for ep in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        t0 = time.perf_counter()
        bar = tqdm(range(n_batches), desc=f"{desc} epoch {ep + 1}/{epochs}", unit="batch",
                   disable=quiet, leave=False)
        losses = []
        for b in bar:
            idx = shard(perm[b * args.batch_size:(b + 1) * args.batch_size], dist)
            xb, yb = x[idx].to(device), y[idx].to(device)
            if method in ("hire", "hire-replay"):
                eps = scheduled_eps(args.train_eps, (ep * n_batches + b) / (epochs * n_batches), ramp)
                loss = hire_step(net, opt, xb, yb, args.timesteps, args.periods, eps, rate_fn,
                                 step=eps * step_ratio, init=init, generator=g_noise,
                                 bank=bank, idx=idx, consistency=consistency,
                                 replay=method == "hire-replay")
            elif method in AT_DEFAULTS:
                eps = scheduled_eps(args.train_eps, (ep * n_batches + b) / (epochs * n_batches), ramp)
                loss = adversarial_step(model, net, opt, xb, yb, args.timesteps, eps, at_steps,
                                        eps * at_step, g_noise, rate_fn)
            else:
                loss = standard_step(net, opt, xb, yb, args.timesteps, rate_fn)
            losses.append(loss)
            if b % 20 == 0:
                bar.set_postfix(loss=f"{loss:.3f}")
        seconds.append(time.perf_counter() - t0)
        if dist.main:
            tqdm.write(f"{desc} epoch {ep + 1}/{epochs}: loss {sum(losses) / len(losses):.4f}"
                       f"{' (rank 0)' if dist.enabled else ''}, {seconds[-1]:.1f} s "
                       f"({len(x) / seconds[-1]:.0f} images/s)")
    if ema is not None:
        ema.apply()
    model.eval()
    return seconds


def pgd_kw(args, eps):
    step = args.pgd_step if eps <= args.eps else max(args.pgd_step, 2.5 * eps / args.pgd_steps)
    return dict(steps=args.pgd_steps, step=step, random_start=not args.no_random_start, seed=args.seed)


def paper_budget(args, eps, progress: bool = True) -> attacks.Budget:
    """The run's FGSM / PGD budget at eps (its sweep and vectors; fgsm reads only the seed)."""
    return attacks.Budget(**pgd_kw(args, eps), batch_size=256, progress=progress)


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
        self.dist = Dist.from_env()
        self.device = pick_device(args.device, self.dist.local_rank)

    def log(self, msg):
        if self.dist.main:
            tqdm.write(msg) if not self.args.no_progress else print(msg, flush=True)

    def run(self) -> dict | None:
        """Train (on every torchrun process), then on rank 0 alone: checkpoint, IR, attacks,
        energy, vectors, metrics. Returns the metrics on rank 0, None on the other ranks."""
        a = self.args
        try:
            xtr, ytr = data.load(a.dataset, "train", a.data_dir, a.train_limit)
            xte, yte = data.load(a.dataset, "test", a.data_dir, a.test_limit)
        except data.DataError as e:
            raise ExperimentError(str(e)) from e
        if self.out.exists() and any(self.out.iterdir()):
            if not (self.out / "metrics.json").exists() and not (self.out / "checkpoint.pt").exists():
                raise ExperimentError(f"--out {self.out} exists and is not a run folder")
        if self.dist.enabled and a.out is None:
            raise ExperimentError("under torchrun pass --out DIR: every process must name the same "
                                  "run folder (the default one carries a timestamp)")
        self.dist.start(self.device)
        try:
            return self._run(xtr, ytr, xte, yte)
        finally:
            self.dist.stop()

    def _run(self, xtr, ytr, xte, yte):
        a = self.args
        from quant import fused_lif, lif
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
        seed_everything(a.seed)
        model = build_model(a, a.seed)
        imported = self.init_from_nir(model, xte, yte) if getattr(a, "init_from", None) else None
        where = (f"{self.dist.world} processes ({self.dist.backend}, {self.device.type}), "
                 f"{-(-a.batch_size // self.dist.world)} images each per minibatch of {a.batch_size}"
                 if self.dist.enabled else str(self.device))
        self.log(f"training {a.arch} ({a.quant}, T={a.timesteps}, {a.encoding}) on {len(xtr)} "
                 f"{a.dataset} images with {a.method} on {where}")
        secs = train_model(model, xtr, ytr, a, a.epochs, a.method, a.seed, self.device, dist=self.dist)
        src = self.train_blackbox_source(xtr, ytr)  # a training job too: every rank takes part
        if not self.dist.main:
            return None
        model.cpu()
        ckpt.save(self.out / "checkpoint.pt", model, extra={"args": vars(a)})
        ir_info = self.export(model)

        clean_acc = attacks.accuracy(model, xte, yte, seed=a.seed)
        n_att = min(a.attack_limit, len(xte))
        xa, ya = xte[:n_att], yte[:n_att]
        budget = paper_budget(a, a.eps, not a.no_progress)
        x_fgsm = attacks.run_attack("fgsm", model, xa, ya, a.eps, budget)
        x_pgd = attacks.run_attack("pgd", model, xa, ya, a.eps, budget)
        fgsm_acc, pgd_acc = attacks.accuracy(model, x_fgsm, ya), attacks.accuracy(model, x_pgd, ya)
        sweep = [{"attack": "fgsm", "eps": a.eps, "acc": fgsm_acc},
                 {"attack": "pgd", "eps": a.eps, "acc": pgd_acc}]
        for eps in a.sweep_eps:
            if eps == a.eps:
                continue
            for name in attacks.ATTACKS:
                x_adv = attacks.run_attack(name, model, xa, ya, eps,
                                           paper_budget(a, eps, not a.no_progress))
                sweep.append({"attack": name, "eps": eps, "acc": attacks.accuracy(model, x_adv, ya)})
        sweep.sort(key=lambda r: (r["attack"], r["eps"]))
        blackbox = self.blackbox(src, model, xa, ya)

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
            "train_images_per_s": len(xtr) / (sum(secs) / len(secs)),
            "distributed": self.dist.info(a.batch_size),
            "lif_kernel": {"backend": "fused" if lif.fused_active() and self.device.type == "cpu"
                           else "torch", **fused_lif.info()},
            "ir": ir_info, "init_from": imported, "device": str(self.device),
            "host": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                     "python": platform.python_version(), "torch": torch.__version__},
        }
        with atomic_file(self.out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(metrics, indent=2) + "\n")
        link_latest(self.out)
        self.summary(metrics)
        return metrics

    def init_from_nir(self, model, xte, yte) -> dict:
        """--init-from: the NIR graph's weights and thresholds into `model` (Brevitas quantises
        them: post-training quantization), with the test accuracy before any fine-tuning."""
        from quant import nir as N
        a = self.args
        imp = N.from_nir(N.read_graph(a.init_from), a.nir_dt, a.nir_reset)
        fracs = N.init_model(model, imp)
        self.log(f"NIR weights clipped to power-of-two steps 2^-f of least squared error: f = "
                 f"{', '.join(map(str, fracs))}")
        for L in imp.leaks:
            self.log(f"NIR {L['node']}: beta {L['beta']:g} -> shift leak {L['beta_used']:g} "
                     f"(k={L['leak_shift']}, time constant x{L['tau_ratio']:g})")
        for note in imp.notes:
            self.log(f"NIR: {note}")
        ptq = attacks.accuracy(model, xte, yte, seed=a.seed)
        self.log(f"NIR model {' '.join(imp.layers)} quantised post-training: clean accuracy "
                 f"{ptq:.2%} before fine-tuning")
        return {"file": str(a.init_from), "dt": a.nir_dt, "ptq_clean_acc": ptq, "weight_frac_bits": fracs,
                **{k: v for k, v in imp.summary().items() if k != "thresholds"}}

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

    def train_blackbox_source(self, xtr, ytr):
        """The black-box transfer attack's source: same architecture, seed + 1000, standard."""
        a = self.args
        if a.blackbox_epochs == 0:
            return None
        src_seed = a.seed + 1000
        seed_everything(src_seed)
        src = build_model(a, src_seed)
        train_model(src, xtr, ytr, a, a.blackbox_epochs, "standard", src_seed, self.device,
                    desc="black-box source", dist=self.dist)
        return src.cpu()

    def blackbox(self, src, model, xa, ya):
        a = self.args
        if src is None:
            return None
        kw = dict(progress=not a.no_progress)
        return {"source": f"standard, seed {a.seed + 1000}, {a.blackbox_epochs} epoch(s)", "eps": a.eps,
                "fgsm_acc": attacks.transfer(src, model, xa, ya, a.eps, "fgsm", seed=a.seed, **kw),
                "pgd_acc": attacks.transfer(src, model, xa, ya, a.eps, "pgd", **pgd_kw(a, a.eps), **kw)}

    def save_vectors(self, model, x, x_fgsm, x_pgd, y):
        with atomic_file(self.out / "vectors.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, clean=model.input_codes(x).numpy(), fgsm=model.input_codes(x_fgsm).numpy(),
                         pgd=model.input_codes(x_pgd).numpy(), labels=y.numpy().astype(np.int64),
                         eps=np.float64(self.args.eps))

    def method_detail(self) -> str:
        a = self.args
        if a.method.startswith("hire"):
            replay = ", full T-step replays" if a.method == "hire-replay" else ""
            return f" (N={a.periods}{replay}, train eps={a.train_eps:.4f})"
        if a.method in AT_DEFAULTS:
            steps, step = at_settings(a.method, a.at_steps, a.at_step)
            return f" ({steps} x {step:.3g} eps steps, train eps={a.train_eps:.4f})"
        return ""

    def summary(self, m):
        a = self.args
        rows = [("run", str(self.out)),
                ("model", f"{a.arch} {a.quant} T={a.timesteps} {a.encoding}, {a.method}"
                          + self.method_detail()),
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
