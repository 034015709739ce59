"""Training schedules and the run CLI: pass counts, determinism, bad flags."""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from quant.model import ModelConfig, QuantSNN
from train import data
from train.experiment import train_model
from train.hire import split_periods

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fmnist_small():
    return data.load("fashion-mnist", "train", limit=256)


def _args(**kw):
    base = dict(batch_size=64, lr=2e-3, periods=2, train_eps=8 / 255, timesteps=8,
                encoding="direct", no_progress=True)
    base.update(kw)
    return argparse.Namespace(**base)


class FrameCounter:
    """Counts timestep-frames (T x N) through every LIF layer, forward and backward.

    Counted on the spikes a layer puts out, (T, N, ...): with direct input the layer's input is
    one current frame per image that drives all T timesteps."""

    def __init__(self, model):
        self.fwd = self.bwd = 0
        for b in model.blocks:
            if b.kind in ("conv", "dense"):
                b.lif.register_forward_hook(self._fwd)
                b.lif.register_full_backward_hook(self._bwd)

    def _fwd(self, mod, inp, out):
        self.fwd += out[0].shape[0] * out[0].shape[1]

    def _bwd(self, mod, gin, gout):
        self.bwd += gout[0].shape[0] * gout[0].shape[1]


def _model(seed=0, quant="4bit"):
    torch.manual_seed(seed)
    return QuantSNN(ModelConfig(quant=quant, v_th=0.5))


def test_hire_does_no_more_passes_than_standard(fmnist_small):
    x, y = fmnist_small
    counts = {}
    for method in ("standard", "hire", "hire-replay", "fgsm-at", "pgd-at"):
        m = _model()
        c = FrameCounter(m)
        train_model(m, x, y, _args(), 1, method, 0, torch.device("cpu"))
        counts[method] = (c.fwd, c.bwd)
    n_layers = 2  # conv1, conv2 spike
    one = (256 * 8 * n_layers, 256 * 8 * n_layers)
    assert counts["standard"] == counts["hire"] == one
    # the baselines' cost: 1 + steps passes forward and back per update (2 and 8); HIRE's
    # full-length replays one pass per period
    assert counts["hire-replay"] == counts["fgsm-at"] == tuple(2 * v for v in one)
    assert counts["pgd-at"] == tuple(8 * v for v in one)


def test_hire_replay_trains_on_the_clean_image_then_on_its_fgsm_image(fmnist_small):
    """hire-replay: replay 1 runs all T timesteps of the clean image from fresh membranes,
    replay 2 all T timesteps of clip01(x + eps * sign(grad)) from fresh membranes, grad the
    input gradient of replay 1's own loss (before its update)."""
    from train.hire import hire_step
    x, y = fmnist_small
    x, y = x[:32], y[:32]
    m = _model()
    ref = _model()
    ref.load_state_dict(m.state_dict())
    xr = x.clone().requires_grad_(True)
    acc, _, _ = ref(xr, timesteps=8, keep_state=False)
    torch.nn.functional.cross_entropy(acc / 8, y).backward()
    eps = 8 / 255
    expected = torch.clamp(x + eps * xr.grad.sign(), 0, 1)
    seen = []
    real = m.forward

    def spy(inp, state=None, timesteps=None, **kw):
        seen.append((inp.detach().clone(), state, timesteps))
        return real(inp, state=state, timesteps=timesteps, **kw)

    m.forward = spy
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    hire_step(m, opt, x, y, 8, 2, eps, replay=True)
    assert [(s, t) for _, s, t in seen] == [(None, 8), (None, 8)]
    assert torch.equal(seen[0][0], x)
    assert torch.equal(seen[1][0], expected) and not torch.equal(expected, x)


def test_adversarial_training_crafts_inside_the_ball_and_trains_on_it(fmnist_small):
    """The crafted image lies in the eps-ball and [0, 1], hurts the model more than its random
    start does, leaves the parameters' gradients alone; the update sees the crafted image."""
    from train.adversarial import adversarial_step, at_settings, craft
    x, y = fmnist_small[0][:64], fmnist_small[1][:64]
    m = _model()
    train_model(m, fmnist_small[0], fmnist_small[1], _args(), 1, "standard", 0,
                torch.device("cpu"))
    m.train()
    for p in m.parameters():
        p.grad = None
    eps = 8 / 255
    assert at_settings("fgsm-at", None, None) == (1, 1.25)
    assert at_settings("pgd-at", None, 0.5) == (7, 0.5)

    def loss_of(xx):
        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(m(xx, timesteps=8)[0] / 8, y))

    start = craft(m, x, y, 8, eps, 0, eps, torch.Generator().manual_seed(1))
    for steps, step in ((1, 1.25 * eps), (7, 2.5 * eps / 7)):
        xa = craft(m, x, y, 8, eps, steps, step, torch.Generator().manual_seed(1))
        assert float((xa - x).abs().max()) <= eps + 1e-6 and 0 <= xa.min() and xa.max() <= 1
        assert loss_of(xa) > loss_of(start) > loss_of(x) - 0.05
    assert all(p.grad is None for p in m.parameters())
    want = craft(m, x, y, 8, eps, 1, 1.25 * eps, torch.Generator().manual_seed(1))
    seen = []
    forward = m.forward

    def spy(inp, *a, **k):
        seen.append(inp.detach().clone())
        return forward(inp, *a, **k)

    m.forward = spy
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    before = [p.detach().clone() for p in m.parameters()]
    adversarial_step(m, m, opt, x, y, 8, eps, 1, 1.25 * eps, torch.Generator().manual_seed(1))
    assert len(seen) == 2 and torch.equal(seen[1], want)  # craft, then train on the crafted
    assert any(not torch.equal(b, p) for b, p in zip(before, m.parameters()))


def test_hire_updates_once_per_period(fmnist_small, monkeypatch):
    x, y = fmnist_small
    calls = {"n": 0}
    orig = torch.optim.Adam.step

    def counting_step(self, *a, **k):
        calls["n"] += 1
        return orig(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    train_model(_model(), x, y, _args(periods=4), 1, "hire", 0, torch.device("cpu"))
    assert calls["n"] == 4 * 4  # 4 minibatches of 64, 4 periods each


def test_same_seed_same_weights_other_seed_differs(fmnist_small):
    x, y = fmnist_small
    states = []
    for seed in (0, 0, 1):
        m = _model(seed)
        train_model(m, x[:128], y[:128], _args(), 1, "hire", seed, torch.device("cpu"))
        states.append(m.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_training_lowers_the_loss(fmnist_small):
    x, y = fmnist_small
    m = _model()
    with torch.no_grad():
        before = torch.nn.functional.cross_entropy(m.logits(x), y)
    train_model(m, x, y, _args(lr=5e-3), 3, "hire", 0, torch.device("cpu"))
    with torch.no_grad():
        after = torch.nn.functional.cross_entropy(m.logits(x), y)
    assert after < before - 0.3


def test_split_periods():
    assert split_periods(8, 2) == [4, 4]
    assert split_periods(8, 3) == [3, 3, 2]
    with pytest.raises(ValueError, match="--periods"):
        split_periods(4, 5)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "train" / "run.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_adversarial_training_baseline_runs_from_the_command_line(tmp_path):
    """--method pgd-at end to end on a small slice: the run folder says what it trained with,
    and seconds per epoch are recorded (the cost axis of the comparison)."""
    out = tmp_path / "run"
    r = _cli("--method", "pgd-at", "--at-steps", "3", "--train-limit", "256", "--epochs", "1",
             "--test-limit", "64", "--attack-limit", "16", "--blackbox-epochs", "0",
             "--sweep-eps", "0.1", "--no-progress", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["method"] == "pgd-at" and m["config"]["at_steps"] == 3
    assert len(m["train_seconds_per_epoch"]) == 1 and m["train_seconds_per_epoch"][0] > 0
    assert "pgd-at (3 x 0.357 eps steps" in r.stdout


@pytest.mark.parametrize("flags,message", [
    (["--quant", "3bit"], "--quant"),
    (["--eps", "2"], "eps must be in [0, 1]"),
    (["--train-eps", "-0.1"], "eps must be in [0, 1]"),
    (["--periods", "9"], "cannot exceed --timesteps"),
    (["--epochs", "0"], "must be >= 1"),
    (["--dataset", "imagenet"], "--dataset"),
    (["--lr", "abc"], "not a number"),
    (["--leak-shift", "16"], "1..15"),
    (["--leak-shift", "1,2,3"], "3 values for the 2 spiking layers"),
    (["--leak-shift", "1,x"], "expected integers"),
    (["--consistency", "-1"], "--consistency must be >= 0"),
    (["--noise-init", "gaussian"], "--noise-init"),
    (["--method", "trades"], "--method"),
    (["--method", "pgd-at", "--at-step", "0"], "--at-step must be > 0"),
    (["--at-steps", "3"], "apply to --method fgsm-at or pgd-at"),
])
def test_bad_flags_are_refused(tmp_path, flags, message):
    r = _cli(*flags, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr
    assert not (tmp_path / "runs").exists()


def test_missing_data_gives_a_clear_error_and_no_run_folder(tmp_path):
    r = _cli("--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert r.returncode == 2 and "error: " in r.stderr and "dataset-fashion-mnist" in r.stderr
    assert not (tmp_path / "run").exists()


def test_help_explains_the_flags(tmp_path):
    r = _cli("--help", cwd=tmp_path)
    assert r.returncode == 0
    for flag in ("--method", "--periods", "--train-eps", "--encoding", "--attack-limit", "--device"):
        assert flag in r.stdout


@pytest.mark.parametrize("arch,in_shape", [("vgg5", (3, 32, 32)), ("vgg11", (3, 32, 32))])
def test_paper_vggs_build_and_run(arch, in_shape):
    torch.manual_seed(0)
    m = QuantSNN(ModelConfig(arch=arch, in_shape=in_shape, n_classes=100, quant="4bit", timesteps=2))
    logits = m.logits(torch.rand(2, *in_shape))
    assert logits.shape == (2, 100)
    logits.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_rate_coded_training_runs_on_poisson_spikes(fmnist_small):
    x, y = fmnist_small
    torch.manual_seed(0)
    m = QuantSNN(ModelConfig(quant="4bit", v_th=0.5, encoding="rate", timesteps=6))
    c = FrameCounter(m)
    train_model(m, x[:128], y[:128], _args(timesteps=6, encoding="rate"), 1, "standard", 0,
                torch.device("cpu"))
    assert c.fwd == 128 * 6 * 2 and c.bwd == 128 * 6 * 2


def test_paper_recipe_command_runs_on_cifar_pickles(tmp_path):
    """The docs/TRAINING.md paper-scale command, shrunk: CIFAR-10 python pickles (written here
    in the real format), VGG5, HIRE; a valid run folder comes out."""
    import json

    from tests.test_data import _fake_cifar10
    _fake_cifar10(tmp_path / "data")
    out = tmp_path / "run"
    r = _cli("--dataset", "cifar10", "--data-dir", str(tmp_path / "data"), "--arch", "vgg5",
             "--timesteps", "2", "--epochs", "1", "--batch-size", "16", "--attack-limit", "4",
             "--blackbox-epochs", "0", "--sweep-eps", "2/255", "--pgd-steps", "2",
             "--no-progress", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"]["arch"] == "vgg5" and m["train_images"] == 35 and m["clean_images"] == 7
    assert m["config"]["train_eps"] == pytest.approx(2 / 255)  # the paper's CIFAR default
    assert (out / "checkpoint.pt").is_file()


def test_persistent_noise_carries_each_images_noise_to_its_next_epoch(fmnist_small):
    """--noise-init persistent: period 1 starts from the noise the image ended with last time
    (projected into the ball), and the bank keeps the last crafted noise, inside the ball."""
    from train.hire import NoiseBank, hire_step
    x, y = fmnist_small[0][:64], fmnist_small[1][:64]
    eps = 1 / 16  # a float16 number: the stored noise stays inside the ball exactly
    m = _model()
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    bank = NoiseBank(len(fmnist_small[0]), x.shape[1:])
    idx = torch.arange(64, 128)  # these images' rows of the bank; the others stay untouched
    seen = []
    forward = m.forward

    def spy(inp, *a, **k):
        seen.append(inp.detach().clone())
        return forward(inp, *a, **k)

    m.forward = spy
    hire_step(m, opt, x, y, 8, 2, eps, init="persistent", bank=bank, idx=idx)
    assert torch.equal(seen[0], x)  # nothing stored yet: the clean image
    d = bank.delta[idx].float()
    assert 0 < d.abs().max() <= eps and torch.equal(bank.delta[:64], torch.zeros_like(bank.delta[:64]))
    assert torch.equal(d, (seen[1] - x).half().float())  # what period 2 saw is what is kept
    start = bank.start(x, idx, eps)
    seen.clear()
    hire_step(m, opt, x, y, 8, 2, eps, init="persistent", bank=bank, idx=idx)
    assert torch.equal(seen[0], start) and not torch.equal(start, x)
    with pytest.raises(ValueError, match="NoiseBank"):
        hire_step(m, opt, x, y, 8, 2, eps, init="persistent")


class _LinearReadout(torch.nn.Module):
    """A stand-in network whose accumulator is tp * (W x): the periods' logits are W x."""

    def __init__(self):
        super().__init__()
        self.cfg = argparse.Namespace(encoding="direct")
        torch.manual_seed(5)
        self.fc = torch.nn.Linear(28 * 28, 10, bias=False)

    def forward(self, x, state=None, timesteps=None, keep_state=True):
        return timesteps * self.fc(x.flatten(1)), [torch.zeros(1)], None


def test_consistency_trains_the_later_periods_on_kl_to_the_first(fmnist_small):
    """--consistency B: period 1 cross-entropy on the clean image, period 2 B * KL(p1 || p2) on
    the crafted one (weights held still with lr 0, so both terms can be recomputed here)."""
    from train.hire import hire_step
    x, y = fmnist_small[0][:32], fmnist_small[1][:32]
    m = _LinearReadout()
    opt = torch.optim.SGD(m.parameters(), lr=0.0)
    eps, beta = 0.1, 3.0
    loss = hire_step(m, opt, x, y, 8, 2, eps, consistency=beta)
    xg = x.clone().requires_grad_(True)
    ce = torch.nn.functional.cross_entropy(m.fc(xg.flatten(1)), y)
    ce.backward()
    x2 = torch.clamp(x + torch.clamp(eps * xg.grad.sign(), -eps, eps), 0, 1)
    with torch.no_grad():
        lp1 = torch.log_softmax(m.fc(x.flatten(1)), 1)
        lp2 = torch.log_softmax(m.fc(x2.flatten(1)), 1)
        kl = (lp1.exp() * (lp1 - lp2)).sum(1).mean()
    assert kl > 0
    ce = float(ce.detach())
    assert loss == pytest.approx((ce + beta * float(kl)) / 2, rel=1e-5)
    plain = hire_step(m, opt, x, y, 8, 2, eps)
    with torch.no_grad():
        ce2 = float(torch.nn.functional.cross_entropy(m.fc(x2.flatten(1)), y))
    assert plain == pytest.approx((ce + ce2) / 2, rel=1e-5)
