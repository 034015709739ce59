"""The fused LIF node: exact forward on the grid, and the gradients autograd would derive."""
import pytest
import torch

from quant.lif import LIF, SURROGATES, surrogate_grad


class _Heaviside(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, th, name):
        ctx.save_for_backward(u, th)
        ctx.name = name
        return (u >= th).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        u, th = ctx.saved_tensors
        z = u / th - 1.0
        sg = g * surrogate_grad(z, ctx.name)
        return sg / th, (-(sg * u) / (th * th)).sum().reshape(th.shape), None


def reference_lif(lif, currents, lsb, u=None):
    """The LIF rule written with plain autograd ops (straight-through floor)."""
    th = lif.threshold(lsb)
    u = torch.zeros_like(currents[0]) if u is None else u
    out = []
    for c in currents.unbind(0):
        if lsb is None:
            u = u - u / 2 ** lif.leak_shift
        else:
            q = u / (lsb * 2 ** lif.leak_shift)
            u = u - (q + (torch.floor(q) - q).detach()) * lsb
        u = u + c
        s = _Heaviside.apply(u, th, lif.surrogate)
        u = u - s * th
        out.append(s)
    return torch.stack(out), u


@pytest.mark.parametrize("lsb", [2.0 ** -6, None])
@pytest.mark.parametrize("surrogate", SURROGATES)
@pytest.mark.parametrize("leak_shift", [1, 3])
def test_fused_lif_matches_autograd_reference(lsb, surrogate, leak_shift):
    torch.manual_seed(0)
    lif = LIF(leak_shift=leak_shift, v_th=0.5, surrogate=surrogate)
    base = torch.randint(-40, 60, (8, 4, 5)).float() * 2.0 ** -6
    u0 = torch.randint(-20, 20, (4, 5)).float() * 2.0 ** -6
    w = torch.randn(8, 4, 5)
    grads = []
    for fn in (lif, lambda c, l, u: reference_lif(lif, c, l, u)):
        c = base.clone().requires_grad_(True)
        u = u0.clone().requires_grad_(True)
        s, uT = fn(c, lsb, u)
        ((s * w).sum() + uT.sum()).backward()
        grads.append((s.detach(), uT.detach(), c.grad, u.grad, lif.v_th.grad.clone()))
        lif.v_th.grad = None
    (s1, u1, gc1, gu1, gt1), (s2, u2, gc2, gu2, gt2) = grads
    assert torch.equal(s1, s2) and torch.equal(u1, u2)  # forward: identical values
    # gradients: the same formula evaluated in another order of float operations
    assert torch.allclose(gc1, gc2, atol=1e-5) and torch.allclose(gu1, gu2, atol=1e-5)
    assert torch.allclose(gt1, gt2, rtol=1e-4, atol=1e-5)


def test_membrane_stays_on_the_grid():
    """Every membrane value the quantized LIF produces is an integer number of LSBs."""
    torch.manual_seed(1)
    lsb = 2.0 ** -10
    lif = LIF(leak_shift=3, v_th=0.37)
    cur = torch.randint(-300, 500, (16, 64)).float() * lsb
    u = None
    for _ in range(3):
        _, u = lif(cur, lsb, u)
        units = u / lsb
        assert torch.equal(units, units.round())


def test_threshold_is_rounded_onto_the_grid_and_at_least_one_lsb():
    lif = LIF(v_th=0.3)
    assert float(lif.threshold(2.0 ** -4).detach()) == 5 * 2.0 ** -4  # 0.3*16 = 4.8 -> 5
    lif = LIF(v_th=1e-6)
    assert float(lif.threshold(2.0 ** -4).detach()) == 2.0 ** -4


def _oracle_code(v_th: float, lsb: float) -> int:
    """Round half to even with exact rationals, then at least 1: written apart from quant.lif."""
    from fractions import Fraction
    return max(1, round(Fraction(v_th) / Fraction(lsb)))  # Fraction rounds ties to even


@pytest.mark.parametrize("lsb", [2.0 ** -4, 2.0 ** -7, 2.0 ** 3])
def test_threshold_code_matches_an_independent_rounding_oracle(lsb):
    """Ties go to the even code, values a float32 ulp either side of .5 go down and up, and
    anything below half an LSB (zero and negative thresholds included) clamps to 1."""
    from quant.lif import threshold_code
    units = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 3.5, 4.5, 7.0, 1000.5, -0.6, -3.0]
    vals = [torch.tensor(u * lsb, dtype=torch.float32) for u in units]
    for u in (2.5, 3.5, 6.5):  # one float32 step below and above each tie
        t = torch.tensor(u * lsb, dtype=torch.float32)
        vals += [torch.nextafter(t, torch.tensor(0.0)), torch.nextafter(t, torch.tensor(1e9))]
    for v in vals:
        want = _oracle_code(float(v), lsb)
        got = threshold_code(v, lsb)
        assert float(got) == want, (float(v) / lsb, float(got), want)
    assert [_oracle_code(u * lsb, lsb) for u in (0.5, 1.5, 2.5, 3.5)] == [1, 2, 2, 4]


def test_bad_neuron_settings_are_refused():
    with pytest.raises(ValueError, match="leak_shift"):
        LIF(leak_shift=0)
    with pytest.raises(ValueError, match="surrogate"):
        LIF(surrogate="relu")
