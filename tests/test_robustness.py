"""The strong attack suite (train.robustness) on the test suite's small trained run.

Every attack on a few real Fashion-MNIST test images: perturbation inside the eps-ball and [0, 1],
accuracy never above clean, restarts never weaker than one start; the hardware attack's codes
are the same whether the golden model or the QAT model scores them, and the C simulation
classifies them exactly as the golden model does (through the public commands).
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from tests.conftest import run_cli
from train import attacks as A
from train import robustness as R

EPS = 0.1


@pytest.fixture(scope="module")
def small(trained_run):
    run, _ = trained_run
    model, cfg = R.load_run(run)
    x, y = R.test_images(cfg, 200, 40)  # outside the run's own vectors (the first 120)
    return model, cfg, x, y


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("transfer_cache")


def _bounds(x_adv, x, eps):
    assert x_adv.shape == x.shape and x_adv.dtype == torch.float32
    assert float((x_adv - x).abs().max()) <= eps + 1e-6
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    assert float((x_adv - x).abs().max()) > 0.5 * eps  # it moved


@pytest.mark.parametrize("loss", ["ce", "cw"])
@pytest.mark.parametrize("surrogate", ["pwl", "fast-sigmoid", "atan"])
def test_pgd_bounds_accuracy_and_restarts(small, loss, surrogate):
    model, _, x, y = small
    ok_clean = R.correct(model, x, y)
    name = f"pgd-{loss}:{surrogate}"
    one = A.run_attack(name, model, x, y, EPS, steps=8, restarts=1, progress=False)
    two = A.run_attack(name, model, x, y, EPS, steps=8, restarts=2, progress=False)
    for xa in (one, two):
        _bounds(xa, x, EPS)
    ok1, ok2 = R.correct(model, one, y), R.correct(model, two, y)
    assert ok1.mean() < ok_clean.mean()  # eps 0.1 breaks a one-epoch model
    assert ok2.mean() <= ok1.mean() <= ok_clean.mean()
    # restart 0 is the one-start run: every image it broke stays broken ...
    assert not (ok2 & ~ok1).any()
    # ... and the margin of every surviving image is no larger
    with torch.no_grad():
        m1 = A.margin(model(R.as_seen(model, one))[0], y)
        m2 = A.margin(model(R.as_seen(model, two))[0], y)
    assert bool((m2[torch.from_numpy(ok2)] <= m1[torch.from_numpy(ok2)]).all())
    # the surrogate is restored, the attack is deterministic
    assert all(b.lif.surrogate == "pwl" for b in model.blocks if hasattr(b, "lif"))
    assert torch.equal(two, A.run_attack(name, model, x, y, EPS, steps=8, restarts=2,
                                         progress=False))


def test_worst_case_counts_an_image_only_if_every_attack_failed(monkeypatch):
    """Two attacks that break different images: each leaves 3 of 4 images right, but only 2
    survive both. worst_case is per image (0.5), below the min of per-attack accuracies."""
    from types import SimpleNamespace
    x, y = torch.zeros(4, 1, 2, 2), torch.zeros(4, dtype=torch.long)
    breaks = {"pgd-ce:pwl": 0, "square": 1}  # attack -> the image it breaks

    def attack(name, model, xx, yy, eps, st, sources=None, progress=True):
        xa = xx.clone()
        xa[breaks[name]] += eps
        return xa

    monkeypatch.setattr(R, "attack_names", lambda st, model: list(breaks))
    monkeypatch.setattr(R, "run_attack", attack)
    monkeypatch.setattr(R, "correct", lambda m, xx, yy, seed=0: (xx == x).flatten(1).all(1).numpy())
    model = SimpleNamespace(cfg=SimpleNamespace(encoding="direct"))
    st = R.Settings(families=("pgd", "square"))
    clean, rows, per_image, _ = R.evaluate(model, None, x, y, [EPS], st, progress=False,
                                           log=lambda *a: None)
    row = rows[0]
    assert clean == 1.0 and row["accuracy"] == {"pgd-ce:pwl": 0.75, "square": 0.75}
    assert row["worst_case"] == 0.5 < min(row["accuracy"].values())
    assert row["white_box"] == 0.75 and row["broken_only_by_black_box"] == 1
    assert per_image[EPS]["worst"].tolist() == [False, False, True, True]


def test_merge_keeps_old_results_only_of_the_same_checkpoint_images_and_settings(tmp_path):
    def report(eps, **kw):
        base = {"offset": 5000, "images": 300, "settings": R.Settings().key(),
                "checkpoint": "abc", "results": [{"eps": eps}]}
        return {**base, **kw}

    path = tmp_path / "robustness.json"
    path.write_text(json.dumps(report(0.05)))
    assert [r["eps"] for r in R.merge(path, report(0.1))["results"]] == [0.05, 0.1]
    for other in ({"checkpoint": "def"}, {"images": 100}, {"offset": 0},
                  {"settings": R.Settings(steps=10).key()}):
        assert [r["eps"] for r in R.merge(path, report(0.1, **other))["results"]] == [0.1], other
    path.write_text("{not json")
    assert [r["eps"] for r in R.merge(path, report(0.1))["results"]] == [0.1]


def _random_sign_noise(x, eps, seed):
    """x + eps * (random +-1 per pixel) in [0, 1]: noise of the attack's budget, no search."""
    g = torch.Generator().manual_seed(seed)
    return (x + eps * (torch.randint(0, 2, x.shape, generator=g) * 2 - 1)).clamp(0, 1)


@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_apgd_breaks_images_through_every_surrogate_and_enters_the_worst_case(small, loss):
    """AutoAttack's APGD-CE / APGD-DLR (ART) through each surrogate: inside the ball, below
    clean accuracy on the fixture at eps 0.1, and part of the suite's per-image worst case."""
    model, _, x, y = small
    ok_clean = R.correct(model, x, y)
    budget = A.Budget(steps=10, progress=False)
    for sur in ("pwl", "fast-sigmoid", "atan"):
        xa = A.run_attack(f"apgd-{loss}:{sur}", model, x, y, EPS, budget)
        _bounds(xa, x, EPS)
        assert R.correct(model, xa, y).mean() < ok_clean.mean(), sur
    st = R.Settings(steps=10, surrogates=("pwl",), families=("apgd",))
    assert R.attack_names(st, model) == ["apgd-ce:pwl", "apgd-dlr:pwl"]
    assert all(R.is_white_box(n) for n in R.attack_names(st, model))
    _, rows, per_image, _ = R.evaluate(model, None, x, y, [EPS], st, progress=False,
                                       log=lambda *a: None)
    worst = per_image[EPS]["worst"]
    assert rows[0]["worst_case"] == worst.mean() <= min(rows[0]["accuracy"].values())
    assert not (worst & ~per_image[EPS][f"apgd-{loss}:pwl"]).any()


def test_square_attack_beats_random_noise_of_the_same_budget(small):
    """Square's search must be worth its queries: on the trained fixture it leaves at least 10
    points less accuracy than any of three random +-eps patterns (measured: 0.55 vs >= 0.725)."""
    model, _, x, y = small
    xa = A.square(model, x, y, EPS, queries=300, seed=3, progress=False)
    _bounds(xa, x, EPS)
    square = R.correct(model, xa, y).mean()
    noise = min(R.correct(model, _random_sign_noise(x, EPS, s), y).mean() for s in range(3))
    assert square <= noise - 0.1, (square, noise)
    again = [A.square(model, x[:8], y[:8], EPS, queries=30, seed=3, progress=False)
             for _ in range(2)]
    assert torch.equal(*again)  # deterministic for a seed
    with pytest.raises(ValueError, match="queries"):
        A.square(model, x, y, EPS, queries=0, progress=False)


class _ZeroGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return torch.zeros_like(grad)


class _GradientMasked(torch.nn.Module):
    """The fixture behind an input layer whose backward returns zero: the same classifier,
    but white-box gradients say nothing (the textbook case of gradient masking)."""

    def __init__(self, model):
        super().__init__()
        self.snn, self.cfg, self.bits, self.blocks = model, model.cfg, model.bits, model.blocks

    def input_codes(self, x):
        return self.snn.input_codes(x)

    def forward(self, x, *args, **kw):
        return self.snn(_ZeroGrad.apply(x), *args, **kw)

    def logits(self, x, timesteps=None):
        return self.snn.logits(_ZeroGrad.apply(x), timesteps)


def test_masking_check_flags_a_masked_model_and_stays_quiet_on_the_fixture(small):
    model, cfg, x, y = small
    x, y = x[:24], y[:24]
    st = R.Settings(steps=10, restarts=1, surrogates=("pwl",), square_queries=300,
                    families=("pgd", "square"))
    checks = {}
    for name, m in (("fixture", model), ("masked", _GradientMasked(model))):
        _, rows, _, _ = R.evaluate(m, cfg, x, y, [EPS], st, progress=False, log=lambda *a: None)
        checks[name] = R.masking_check(m, x, y, [0.1, 0.2, 0.3, 0.5], st, 0.05, rows,
                                       progress=False, log=lambda *a: None)
    assert checks["fixture"]["ok"] and checks["fixture"]["flags"] == []
    assert checks["fixture"]["accuracy"][-1] <= 0.05
    masked = checks["masked"]
    assert not masked["ok"] and masked["accuracy"][-1] > 0.05
    assert any("gradient masking?" in f for f in masked["flags"])
    assert any("black-box square" in f for f in masked["flags"])  # Square beats blind PGD


def test_transfer_sources_are_trained_once_and_cached(small, cache):
    model, cfg, x, y = small
    st = R.Settings(source_epochs=1, source_train_limit=600)
    logs = []
    for kind in ("snn", "ann"):
        args = (kind, model, cfg, st.source_epochs, st.source_train_limit, cache)
        src = A.transfer_source(*args, progress=False, log=logs.append)
        again = A.transfer_source(*args, progress=False, log=logs.append)
        with torch.no_grad():
            assert torch.equal(src.logits(x), again.logits(x))
        assert A.accuracy(src, x, y) > 0.3  # it learned something (chance 0.1)
        xa = R.run_attack(f"transfer-{kind}", model, x, y, EPS, st, {kind: src}, progress=False)
        _bounds(xa, x, EPS)
        assert R.correct(model, xa, y).mean() <= R.correct(model, x, y).mean()
    assert len([m for m in logs if m.startswith("training the transfer source")]) == 2
    assert len(list(cache.glob("*.pt"))) == 2
    assert isinstance(src, A.FloatANN) and src.bits is None


def test_square_codes_same_images_from_golden_and_qat_scores(trained_run):
    """The hardware attack's scores are the golden accumulators; the QAT model's readout is the
    same integers times the LSB, so the attack finds the same codes from either."""
    from core import golden
    from core.runs import load_network, load_vectors
    run, _ = trained_run
    net = load_network(run)
    codes, labels = load_vectors(run, "none", 40)
    model, _ = R.load_run(run)
    radius = R.eps_to_codes(EPS)
    assert radius == 25

    def qat(c):
        with torch.no_grad():
            return model(torch.from_numpy(c).float() / 256)[0].double().numpy()

    adv_g, used_g = A.square_codes(lambda c: golden.predict(net, c)[0], codes, labels, radius,
                                   queries=25, seed=1, progress=False)
    adv_q, used_q = A.square_codes(qat, codes, labels, radius, queries=25, seed=1, progress=False)
    assert adv_g.dtype == np.uint8 and np.array_equal(adv_g, adv_q)
    assert np.array_equal(used_g, used_q) and used_g.max() <= 25
    assert np.abs(adv_g.astype(int) - codes.astype(int)).max() <= radius
    pred_clean, pred_adv = golden.predict(net, codes)[1], golden.predict(net, adv_g)[1]
    assert (pred_adv == labels).mean() <= (pred_clean == labels).mean()
    assert not np.array_equal(adv_g, codes)


def test_hardware_square_beats_random_codes_of_the_same_radius(trained_run):
    """The code-space Square on the golden model's scores leaves at least 10 points less
    accuracy than three random +-radius code patterns (measured: 0.525 vs >= 0.675)."""
    from core import golden
    from core.runs import load_network, load_vectors
    run, _ = trained_run
    net = load_network(run)
    codes, labels = load_vectors(run, "none", 40)
    radius = R.eps_to_codes(EPS)
    adv, _ = A.square_codes(lambda c: golden.predict(net, c)[0], codes, labels, radius,
                            queries=100, seed=1, progress=False)
    rng = np.random.default_rng(0)
    noise = []
    for _ in range(3):
        c = codes.astype(np.int16) + radius * rng.choice([-1, 1], size=codes.shape)
        noise.append((golden.predict(net, np.clip(c, 0, 255).astype(np.uint8))[1]
                      == labels).mean())
    square = (golden.predict(net, adv)[1] == labels).mean()
    assert square <= min(noise) - 0.1, (square, noise)


def test_cli_suite_and_hardware_attack_through_csim(trained_run, tmp_path, cache):
    """The CLI end to end on a copy of the run: the table, one JSON line, robustness.json, the
    hw_square codes in vectors.npz, and `python -m hls.csim --attack hw_square` on them."""
    src, _ = trained_run
    run = tmp_path / "run"
    shutil.copytree(src, run)
    with np.load(run / "vectors.npz") as z:
        before = {k: z[k] for k in z.files}
    common = [str(run), "--n", "24", "--offset", "300", "--steps", "5", "--square-queries", "30",
              "--source-epochs", "1", "--source-train-limit", "600", "--cache", str(cache),
              "--no-progress"]
    r = run_cli("train.robustness", *common, "--eps", "8/255", "0.1", "--masking-eps", "0.1",
                "0.5", "--masking-n", "24", "--hardware", "--hw-queries", "20")
    assert r.returncode in (0, 1), r.stderr[-3000:]
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert (r.returncode == 1) == bool(rep["flags"])
    assert "worst case" in r.stdout and "pgd-cw:atan" in r.stdout
    assert rep == json.loads((run / "robustness.json").read_text())
    assert rep["images"] == 24 and [round(e["eps"], 6) for e in rep["results"]] == [0.031373, 0.1]
    names = {f"{w}:{s}" for w in ("pgd-ce", "pgd-cw", "apgd-ce", "apgd-dlr")
             for s in ("pwl", "fast-sigmoid", "atan")}
    names |= {"square", "transfer-snn", "transfer-ann"}
    for res in rep["results"]:
        assert set(res["accuracy"]) == names
        assert res["worst_case"] <= min(res["accuracy"].values()) <= rep["clean"] + 1e-9
        assert res["worst_case"] <= res["white_box"]
    assert rep["results"][1]["worst_case"] <= rep["results"][0]["worst_case"] + 1e-9
    mk = rep["masking"]
    assert mk["eps"] == [0.1, 0.5] and len(mk["accuracy"]) == 2

    hw = rep["hardware"]
    assert hw["key"] == "hw_square" and hw["images"] == 120 and hw["qat_equals_golden"]
    assert hw["golden_accuracy"] <= hw["clean_accuracy"]
    with np.load(run / "vectors.npz") as z:
        assert set(z.files) == set(before) | {"hw_square"}
        for k, v in before.items():
            assert np.array_equal(z[k], v)  # the other arrays kept
        adv = z["hw_square"]
        assert adv.dtype == np.uint8 and adv.shape == before["clean"].shape
        assert np.abs(adv.astype(int) - before["clean"].astype(int)).max() <= R.eps_to_codes(0.1)

    c = run_cli("hls.csim", str(run), "--attack", "hw_square", "--n", "120", "--out",
                str(tmp_path / "prj"))
    assert c.returncode == 0, c.stdout[-2000:] + c.stderr[-2000:]
    cs = json.loads(c.stdout.strip().splitlines()[-1])
    assert cs["bit_exact"] and cs["mismatches"] == 0 and cs["images"] == 120
    assert cs["accuracy"] == round(hw["golden_accuracy"], 4)

    # a second eps merges into robustness.json (same images and settings)
    r2 = run_cli("train.robustness", *common, "--eps", "0.05", "--masking-eps")
    assert r2.returncode in (0, 1), r2.stderr[-3000:]
    merged = json.loads((run / "robustness.json").read_text())
    assert [round(e["eps"], 6) for e in merged["results"]] == [0.031373, 0.05, 0.1]


def test_cli_errors(tmp_path):
    r = run_cli("train.robustness", str(tmp_path / "nope"), "--no-progress")
    assert r.returncode == 2 and r.stderr.startswith("error:") and "no such run" in r.stderr
    r = run_cli("train.robustness", str(tmp_path), "--eps", "2")
    assert r.returncode == 2 and "eps" in r.stderr
    r = run_cli("train.robustness", str(tmp_path), "--attacks", "fgsm")
    assert r.returncode == 2 and "--attacks" in r.stderr
    r = run_cli("train.robustness", "--help")
    assert r.returncode == 0 and "worst_case" in r.stdout and "hw_square" in r.stdout
