"""train.attacks on small 4-bit SNNs trained in the test on real data (scikit-learn digits)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from quant.model import ModelConfig, QuantSNN
from train import attacks as A
from train import data


def _train(encoding="direct", seed=0, steps=120, T=4):
    torch.manual_seed(seed)
    m = QuantSNN(ModelConfig(arch="fmnist-conv", quant="4bit", in_shape=(1, 8, 8), n_classes=10,
                             timesteps=T, encoding=encoding))
    x, y = data.load("digits", "train")
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=g)
        xb = x[idx]
        if encoding == "rate":
            xb = A.poisson(xb, T, g)
        loss = F.cross_entropy(m.logits(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return m.eval()


@pytest.fixture(scope="module")
def test_set():
    return data.load("digits", "test", limit=128)


@pytest.fixture(scope="module")
def model(one_thread):
    return _train("direct")


@pytest.fixture(scope="module")
def rate_model(one_thread):
    return _train("rate")


@pytest.fixture(scope="module")
def clean(model, test_set):
    acc = A.accuracy(model, *test_set)
    assert acc >= 0.6, f"the test model did not train (clean accuracy {acc:.3f}, chance 0.1)"
    return acc


def _check_bounds(x_adv, x, eps):
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert float((x_adv - x).abs().max()) <= eps + 1e-6
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0


@pytest.mark.parametrize("name", ["fgsm", "pgd"])
def test_attack_bounds_and_accuracy(name, model, test_set, clean):
    x, y = test_set
    accs = []
    for eps in (0.02, 8 / 255, 0.1):
        x_adv = A.run_attack(name, model, x, y, eps, progress=False)
        _check_bounds(x_adv, x, eps)
        assert float((x_adv - x).abs().max()) > 0.5 * eps  # it did move
        acc = A.accuracy(model, x_adv, y)
        assert acc <= clean
        accs.append(acc)
    assert accs[-1] < clean, f"{name} at eps=0.1 left accuracy at {accs[-1]} (clean {clean})"


def test_fgsm_is_one_signed_step(model, test_set):
    x, y = test_set
    eps = 0.05
    xg = x.clone().requires_grad_(True)
    F.cross_entropy(model.logits(xg), y).backward()
    expect = (x + eps * xg.grad.sign()).clamp(0, 1)
    got = A.fgsm(model, x, y, eps, progress=False)
    assert torch.equal(got, expect)


def test_eps_zero_is_clean(model, test_set, clean):
    x, y = test_set
    for fn in (A.fgsm, A.pgd):
        x_adv = fn(model, x, y, 0.0, progress=False)
        assert torch.equal(x_adv, x) and x_adv is not x
        assert A.accuracy(model, x_adv, y) == clean


def test_pgd_deterministic(model, test_set):
    x, y = test_set
    a = A.pgd(model, x, y, 0.05, seed=3, progress=False)
    b = A.pgd(model, x, y, 0.05, seed=3, progress=False)
    c = A.pgd(model, x, y, 0.05, seed=4, progress=False)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)  # the random start depends on the seed
    d = A.pgd(model, x, y, 0.05, random_start=False, progress=False)
    e = A.pgd(model, x, y, 0.05, random_start=False, seed=9, progress=False)
    assert torch.equal(d, e)  # no random start: no randomness at all
    assert torch.equal(A.fgsm(model, x, y, 0.05, progress=False),
                       A.fgsm(model, x, y, 0.05, progress=False))


def test_attack_leaves_model_and_rngs_alone(model, test_set):
    x, y = test_set
    model.train()
    p = next(model.parameters())
    p.grad = torch.full_like(p, 7.0)
    np_state, t_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    try:
        A.pgd(model, x[:16], y[:16], 0.03, progress=False)
        assert model.training  # mode restored
        assert torch.equal(p.grad, torch.full_like(p, 7.0))  # ART's zero_grad undone
        assert all(q.requires_grad for q in model.parameters())
        assert np.array_equal(np.random.get_state()[1], np_state)
        assert torch.equal(torch.get_rng_state(), t_state)
    finally:
        p.grad = None
        model.eval()


def test_bad_arguments(model, test_set):
    x, y = test_set
    for eps in (-0.01, 1.5, math.nan, math.inf, "0.1", True):
        with pytest.raises(ValueError, match="eps"):
            A.fgsm(model, x, y, eps, progress=False)
        with pytest.raises(ValueError, match="eps"):
            A.pgd(model, x, y, eps, progress=False)
    for steps in (0, -1, 2.5):
        with pytest.raises(ValueError, match="steps"):
            A.pgd(model, x, y, 0.1, steps=steps, progress=False)
    for step in (0, -0.01, math.nan):
        with pytest.raises(ValueError, match="step"):
            A.pgd(model, x, y, 0.1, step=step, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        A.fgsm(model, x, y, 0.1, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="labels"):
        A.fgsm(model, x, y[:-1], 0.1, progress=False)
    with pytest.raises(ValueError, match="images"):
        A.pgd(model, x[None].expand(4, *x.shape), y, 0.1, progress=False)
    with pytest.raises(ValueError, match="unknown attack"):
        A.sweep(model, x, y, [0.1], attacks=("cw",), progress=False)
    with pytest.raises(ValueError, match="unknown attack"):
        A.transfer(model, model, x, y, 0.1, attack="deepfool", progress=False)


def test_progress_bar(model, test_set, capsys):
    x, y = test_set
    A.pgd(model, x, y, 0.03, steps=1, batch_size=64, progress=True)
    err = capsys.readouterr().err
    assert "pgd eps=0.0300" in err and "/2 " in err and "batch" in err  # a bar over 2 batches
    A.pgd(model, x, y, 0.03, steps=1, batch_size=64, progress=False)
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


def test_sweep_and_transfer(model, test_set, clean):
    x, y = test_set
    rows = A.sweep(model, x, y, [0.0, 0.1], progress=False, seed=1)
    assert [(r["attack"], r["eps"]) for r in rows] == [("fgsm", 0.0), ("fgsm", 0.1),
                                                       ("pgd", 0.0), ("pgd", 0.1)]
    assert rows[0]["acc"] == clean and rows[2]["acc"] == clean
    assert rows[1]["acc"] == A.accuracy(model, A.fgsm(model, x, y, 0.1, progress=False), y)
    assert rows[3]["acc"] == A.accuracy(model, A.pgd(model, x, y, 0.1, seed=1, progress=False), y)
    # transfer onto the source itself is the white-box attack
    assert A.transfer(model, model, x, y, 0.1, attack="fgsm", progress=False) == rows[1]["acc"]
    # black-box from a separately seeded model: crafted there, evaluated here
    other = _train("direct", seed=1, steps=60)
    bb = A.transfer(other, model, x, y, 0.1, attack="pgd", progress=False)
    assert bb == A.accuracy(model, A.pgd(other, x, y, 0.1, progress=False), y)
    assert bb <= clean


def test_accuracy_ties_to_lowest_index(model, test_set):
    acc = torch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, -1.0, 5.0]])
    assert A.argmax_lowest(acc).tolist() == [1, 0, 2]
    x, y = test_set
    silent = QuantSNN(model.cfg).eval()
    silent.load_state_dict(model.state_dict())
    with torch.no_grad():
        silent.blocks[-1].fc.weight.zero_()  # every readout accumulator 0: all ties
    assert A.predict(silent, x).eq(0).all()
    assert A.accuracy(silent, x, y) == float((y == 0).double().mean())


def test_poisson():
    x = torch.tensor([[[[0.0, 1.0], [0.25, 0.5]]]]).repeat(3, 1, 1, 1)  # (3, 1, 2, 2)
    g = torch.Generator().manual_seed(0)
    T = 4000
    s = A.poisson(x, T, g)
    assert s.shape == (T, 3, 1, 2, 2)
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    assert s[:, :, 0, 0, 0].eq(0).all() and s[:, :, 0, 0, 1].eq(1).all()
    # mean rate within 5 binomial standard deviations of the intensity
    for (i, j), p in {(1, 0): 0.25, (1, 1): 0.5}.items():
        r = s[:, :, 0, i, j].mean()
        assert abs(float(r) - p) < 5 * math.sqrt(p * (1 - p) / (T * 3))
    # straight-through: d sum(spikes) / dx = T inside [0, 1]
    xg = x.clone().requires_grad_(True)
    A.poisson(xg, 5).sum().backward()
    assert torch.equal(xg.grad, torch.full_like(x, 5.0))
    # seeded generator: reproducible
    assert torch.equal(A.poisson(x, 7, torch.Generator().manual_seed(1)),
                       A.poisson(x, 7, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="T"):
        A.poisson(x, 0)


def test_rate_coded_attacks(rate_model, test_set):
    x, y = test_set
    clean = A.accuracy(rate_model, x, y)
    assert clean >= 0.5, f"rate-coded test model did not train ({clean:.3f})"
    assert A.accuracy(rate_model, x, y) == clean  # Poisson sampling seeded
    for fn in (A.fgsm, A.pgd):
        a = fn(rate_model, x, y, 0.1, progress=False)
        b = fn(rate_model, x, y, 0.1, progress=False)
        _check_bounds(a, x, 0.1)
        assert torch.equal(a, b)
        assert A.accuracy(rate_model, a, y) < clean


@pytest.mark.parametrize("encoding", ["direct", "rate"])
@pytest.mark.parametrize("name", A.names())
def test_every_registered_attack_honours_the_contract(name, encoding, model, rate_model, test_set):
    """attack(model, x, y, eps, budget) -> x_adv: x's shape and dtype, in [0, 1] and the
    eps-ball, moved, bit-identical for a budget, x itself at eps 0; the model's mode and the
    global RNGs left alone. Cheap budgets; transfer sources: the model and an untrained ANN."""
    m = model if encoding == "direct" else rate_model
    x, y = test_set[0][:12], test_set[1][:12]
    torch.manual_seed(0)
    budget = A.Budget(seed=3, steps=2, restarts=2, queries=8, transfer_steps=2, progress=False,
                      sources={"snn": m, "ann": A.FloatANN(m.cfg).eval()})
    np_state, t_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    x_adv = A.run_attack(name, m, x, y, 0.1, budget)
    _check_bounds(x_adv, x, 0.1)
    assert float((x_adv - x).abs().max()) > 0
    assert torch.equal(x_adv, A.run_attack(name, m, x, y, 0.1, budget))
    assert torch.equal(A.run_attack(name, m, x, y, 0.0, budget), x)
    assert not m.training
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), t_state)


def test_a_new_attack_is_one_registered_function(model, test_set):
    """@register makes fn(model, x, y, eps, budget) an attack of the library: by name, with
    keyword fields over the budget, checked arguments and an exact projection."""
    x, y = test_set[0][:8], test_set[1][:8]
    seen = []

    @A.register("test-overshoot")
    def overshoot(m, xx, yy, eps, budget):
        seen.append(budget)
        return xx + 3 * eps  # outside the ball and [0, 1]: the registry projects

    try:
        assert "test-overshoot" in A.names()
        x_adv = A.run_attack("test-overshoot", model, x, y, 0.05, seed=7)
        assert torch.equal(x_adv, (x + 0.05).clamp(0, 1)) and seen[-1].seed == 7
        assert torch.equal(overshoot(model, x, y, 0.05, A.Budget(steps=3)), x_adv)
        assert seen[-1].steps == 3
        with pytest.raises(ValueError, match="eps"):
            overshoot(model, x, y, 2.0)
        with pytest.raises(ValueError, match="registered twice"):
            A.register("test-overshoot")
        with pytest.raises(TypeError):
            overshoot(model, x, y, 0.05, no_such_field=1)
    finally:
        del A.REGISTRY["test-overshoot"]
    with pytest.raises(ValueError, match="unknown attack"):
        A.run_attack("test-overshoot", model, x, y, 0.05)
