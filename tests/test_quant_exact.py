"""The QAT model and the integer golden model compute the same integers, on real images."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.conftest import random_model
from core import golden
from core.golden import conv_int
from core.network import Network
from quant.export import to_ir
from quant.verify import compare


def test_brevitas_scales_are_powers_of_two_and_input_codes_roundtrip(fmnist_codes):
    codes, _ = fmnist_codes
    m = random_model("4bit")
    for b in m.blocks:
        if b.kind != "pool":
            _, scale = m.quant_weight(b)
            assert np.log2(scale) == round(np.log2(scale))
    x = torch.from_numpy(codes[:32]).float() / 256.0
    assert np.array_equal(m.input_codes(x).numpy(), codes[:32])


def test_quant_conv_equals_integer_conv_times_scales(fmnist_codes):
    codes, _ = fmnist_codes
    m = random_model("8bit")
    conv = m.blocks[0].conv
    qw = conv.quant_weight()
    x = torch.from_numpy(codes[:16]).float() / 256.0
    with torch.no_grad():
        out = F.conv2d(m.encode(x), qw.value, padding=1)
    ref = conv_int(codes[:16].astype(np.int32), qw.int().numpy(), 1)
    lsb = float(qw.scale.detach()) / 256.0
    assert np.array_equal(out.numpy() / lsb, ref.astype(np.float64))


def _assert_bit_exact(model, codes):
    mj, w = to_ir(model)
    agree, _ = compare(model, Network(mj, w), codes, batch_size=64, progress=False)
    assert agree["spikes"].all() and agree["accumulator"].all() and agree["prediction"].all()
    return mj, w


@pytest.mark.parametrize("quant", ["2bit", "4bit", "8bit"])
@pytest.mark.parametrize("v_th", [0.05, 0.3, 2.0])
def test_qat_equals_golden_on_real_images(fmnist_codes, quant, v_th):
    codes, _ = fmnist_codes
    model = random_model(quant, seed=3, v_th=v_th)
    mj, w = _assert_bit_exact(model, codes[:96])
    rates = [s.mean() for s in golden.run(Network(mj, w), codes[:96]).spikes]
    assert all(0 < r < 1 for r in rates) or v_th == 2.0  # the dense cases really spike


@pytest.mark.parametrize("layers,leak,T", [(["c8", "p2", "f32", "r"], 1, 4),
                                           (["c4", "c8", "p2", "p2", "r"], 5, 6),
                                           (["f64", "f32", "r"], 2, 3),
                                           (["c8", "p2", "c16", "p2", "r"], [1, 4], 8)])
def test_qat_equals_golden_other_shapes(fmnist_codes, layers, leak, T):
    codes, _ = fmnist_codes
    model = random_model("4bit", seed=1, layers=layers, leak_shift=leak, timesteps=T, v_th=0.2)
    mj, _ = _assert_bit_exact(model, codes[:64])
    spiking = [L for L in mj["layers"] if "leak_shift" in L]
    assert [L["leak_shift"] for L in spiking] == (leak if isinstance(leak, list) else
                                                  [leak] * len(spiking))


@pytest.mark.parametrize("quant", ["2bit", "4bit", "8bit"])
def test_qat_equals_golden_after_training_steps(fmnist_codes, quant):
    """Weights and thresholds that moved off their initial values still agree."""
    codes, labels = fmnist_codes
    model = random_model(quant, seed=5, v_th=0.4).train()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    x, y = torch.from_numpy(codes[:64]).float() / 256.0, torch.from_numpy(labels[:64])
    for _ in range(5):
        loss = F.cross_entropy(model.logits(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    _assert_bit_exact(model, codes[64:192])


def test_a_membrane_exactly_at_threshold_fires():
    """U == threshold fires, in the golden model and in the QAT LIF (the tie rule of the
    readout's argmax is tests/test_attacks.py::test_accuracy_ties_to_lowest_index)."""
    s = golden.lif_int(np.array([[5]], dtype=np.int64), threshold=5, leak_shift=3, T=2, direct=True)
    # t0: U = 5 -> fires, U = 0; t1: U = 5 -> fires again
    assert s[:, 0, 0].tolist() == [1, 1]
    from quant.lif import LIF
    lif = LIF(leak_shift=3, v_th=5 * 2.0 ** -4)
    spikes, _ = lif(torch.full((2, 1), 5 * 2.0 ** -4), 2.0 ** -4)
    assert spikes[:, 0].tolist() == [1.0, 1.0]


def test_leak_is_floor_of_shift_for_negative_membranes():
    from quant.lif import LIF
    lif = LIF(leak_shift=2, v_th=100.0)
    cur = torch.tensor([[-7.0], [0.0], [0.0]])  # LSB 1
    _, u = lif(cur, 1.0)
    g = np.array([-7], dtype=np.int64)
    for _ in range(2):
        g = g - (g >> 2)
    # -7 -> -7 - floor(-7/4) = -5 -> -5 - floor(-5/4) = -3
    assert g.tolist() == [-3] and u.tolist() == [-3.0]


def test_a_threshold_beyond_a_32_bit_membrane_never_fires():
    """An IR may hold a threshold of 2^31 with a 32-bit membrane (the RTL clamps it there): the
    membrane (here climbing towards 2^31 - 2) never reaches it, and the golden model says so
    instead of overflowing."""
    cur = np.full((2, 3), (1 << 30) - 1, np.int64)
    s = golden.lif_int(cur, threshold=1 << 31, leak_shift=1, T=16, direct=True, membrane_bits=32)
    assert s.shape == (16, 2, 3) and not s.any()
    s = golden.lif_int(cur, threshold=(1 << 30) - 1, leak_shift=1, T=1, direct=True,
                       membrane_bits=32)
    assert s.all()
