"""train.energy: hand-computed op counts and energies; spike rates measured on real images."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from quant.model import ModelConfig, QuantSNN
from train import data
from train import energy as E

CONV1 = 28 * 28 * 16 * 1 * 9   # 112896
CONV2 = 14 * 14 * 32 * 16 * 9  # 903168
READOUT = 32 * 7 * 7 * 10      # 15680


@pytest.fixture(scope="module")
def fmnist(one_thread):
    return data.load("fashion-mnist", "test", limit=64)


def _model(encoding="direct", v_th=0.3, T=8):
    torch.manual_seed(0)  # untrained; v_th 0.3 makes it spike densely
    return QuantSNN(ModelConfig(arch="fmnist-conv", v_th=v_th, timesteps=T,
                                encoding=encoding)).eval()


def test_hand_op_counts():
    assert (CONV1, CONV2, READOUT) == (112896, 903168, 15680)
    m = _model()
    e = E.energy(m, {"conv1": 0.1, "conv2": 0.1})
    assert [(r["layer"], r["dense_ops"]) for r in e["layers"]] == [
        ("conv1", CONV1), ("conv2", CONV2), ("readout", READOUT)]
    assert e["dense_synaptic_ops"] == CONV1 + CONV2 + READOUT


def test_hand_op_counts_of_the_default_fashion_mnist_network():
    """fmnist-conv48: conv2 and the readout take 48 channels instead of 32, conv1 is unchanged."""
    torch.manual_seed(0)
    m = QuantSNN(ModelConfig(arch="fmnist-conv48")).eval()
    e = E.energy(m, {"conv1": 0.1, "conv2": 0.1})
    assert [(r["layer"], r["dense_ops"]) for r in e["layers"]] == [
        ("conv1", 112896), ("conv2", 14 * 14 * 48 * 16 * 9), ("readout", 48 * 7 * 7 * 10)]


def test_energy_direct_input():
    m = _model()
    T = 8
    e = E.energy(m, {"conv1": 0.1, "conv2": 0.05})
    c1, c2, ro = e["layers"]
    # first layer: analog input, MACs once per image
    assert c1["input"] == "analog" and c1["macs"] == CONV1 and c1["acs"] == 0
    assert c1["pj"] == pytest.approx(CONV1 * 4.6, rel=1e-12)
    assert c1["pj_paper_convention"] == pytest.approx(CONV1 * T * 4.6, rel=1e-12)
    # spike-driven: rate of the incoming spikes x dense ops x T accumulates
    assert c2["in_rate"] == 0.1 and c2["acs"] == pytest.approx(0.1 * CONV2 * T, rel=1e-12)
    assert ro["in_rate"] == 0.05 and ro["acs"] == pytest.approx(0.05 * READOUT * T, rel=1e-12)
    snn = CONV1 * 4.6 + (0.1 * CONV2 + 0.05 * READOUT) * T * 0.9
    snn_paper = CONV1 * T * 4.6 + (0.1 * CONV2 + 0.05 * READOUT) * T * 0.9
    ann = (CONV1 + CONV2 + READOUT) * 4.6
    assert e["snn_pj_per_image"] == pytest.approx(snn, rel=1e-12)
    assert e["snn_pj_per_image_paper_convention"] == pytest.approx(snn_paper, rel=1e-12)
    assert e["ann_pj_per_image"] == pytest.approx(ann, rel=1e-12)
    assert e["ratio_ann_over_snn"] == pytest.approx(ann / snn, rel=1e-12)
    assert e["ratio_ann_over_snn"] > 1
    assert e["synaptic_events"] == pytest.approx((0.1 * CONV2 + 0.05 * READOUT) * T, rel=1e-12)
    assert e["macs_per_image"] == CONV1


def test_energy_uses_pooled_rates():
    """The next layer receives the OR-pooled spikes: out_rate, when given, is what counts."""
    m = _model()
    rates = [{"layer": "conv1", "rate": 0.1, "out_rate": 0.3},
             {"layer": "conv2", "rate": 0.1, "out_rate": 0.2}]
    e = E.energy(m, rates)
    assert e["layers"][1]["acs"] == pytest.approx(0.3 * CONV2 * 8, rel=1e-12)
    assert e["layers"][2]["acs"] == pytest.approx(0.2 * READOUT * 8, rel=1e-12)


def test_energy_rate_coded():
    m = _model("rate", T=32)
    e = E.energy(m, {"input": 0.2, "conv1": 0.1, "conv2": 0.1})
    c1 = e["layers"][0]
    assert c1["input"] == "spikes" and c1["macs"] == 0
    assert c1["acs"] == pytest.approx(0.2 * CONV1 * 32, rel=1e-12)
    snn = (0.2 * CONV1 + 0.1 * CONV2 + 0.1 * READOUT) * 32 * 0.9
    assert e["snn_pj_per_image"] == pytest.approx(snn, rel=1e-12)
    assert e["snn_pj_per_image_paper_convention"] == e["snn_pj_per_image"]
    with pytest.raises(ValueError, match="'input'"):
        E.energy(m, {"conv1": 0.1, "conv2": 0.1})


def test_energy_vgg5_counts():
    m = QuantSNN(ModelConfig(arch="vgg5", in_shape=(3, 32, 32), n_classes=100))
    rates = {"conv1": 0.1, "conv2": 0.1, "conv3": 0.1, "dense1": 0.1}
    e = E.energy(m, rates)
    assert [(r["layer"], r["dense_ops"]) for r in e["layers"]] == [
        ("conv1", 32 * 32 * 64 * 3 * 9), ("conv2", 16 * 16 * 128 * 64 * 9),
        ("conv3", 16 * 16 * 128 * 128 * 9), ("dense1", 128 * 8 * 8 * 1024),
        ("readout", 1024 * 100)]
    assert e["ratio_ann_over_snn"] > 1


def test_energy_bad_rates():
    m = _model()
    with pytest.raises(ValueError, match="conv2"):
        E.energy(m, {"conv1": 0.1})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        E.energy(m, {"conv1": 1.5, "conv2": 0.1})
    with pytest.raises(ValueError, match="rate entry"):
        E.energy(m, [{"name": "conv1"}])


def test_spike_rates_direct(fmnist, capsys):
    x, _ = fmnist
    m = _model()
    m.train()
    rates = E.spike_rates(m, x)
    assert m.training  # mode restored
    assert [r["layer"] for r in rates] == ["conv1", "conv2"]
    assert [r["neurons"] for r in rates] == [16 * 28 * 28, 32 * 14 * 14]
    m.eval()
    with torch.no_grad():
        _, _, rec = m(x, record=True)
    for r, (s, _) in zip(rates, rec):
        assert r["rate"] == pytest.approx(float(s.double().mean()), rel=1e-12)
        pooled = F.max_pool2d(s.flatten(0, 1), 2)
        assert r["out_rate"] == pytest.approx(float(pooled.double().mean()), rel=1e-12)
        assert 0.0 < r["rate"] <= r["out_rate"] <= 1.0  # OR pooling never lowers the rate
    # integer-exact model: batching does not change a single spike
    assert E.spike_rates(m, x, batch_size=7) == rates
    e = E.energy(m, rates)
    assert e["layers"][1]["in_rate"] == rates[0]["out_rate"]
    assert capsys.readouterr().out == ""  # pure: prints nothing


def test_spike_rates_rate_coded(fmnist):
    x, _ = fmnist
    T = 8
    m = _model("rate", T=T)
    rates = E.spike_rates(m, x, seed=1)
    assert [r["layer"] for r in rates] == ["input", "conv1", "conv2"]
    p = float(x.double().mean())
    n = x.numel() * T
    # Poisson input: the spike rate is the mean intensity, within 5 standard deviations
    sd = math.sqrt(float((x.double() * (1 - x.double())).sum()) * T) / n
    assert abs(rates[0]["rate"] - p) < 5 * sd
    assert rates[0]["out_rate"] == rates[0]["rate"]  # no pooling before conv1
    assert E.spike_rates(m, x, seed=1) == rates  # seeded
    e = E.energy(m, rates)
    assert e["layers"][0]["in_rate"] == rates[0]["rate"]
