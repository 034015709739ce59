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


def test_bad_neuron_settings_are_refused():
    with pytest.raises(ValueError, match="leak_shift"):
        LIF(leak_shift=0)
    with pytest.raises(ValueError, match="surrogate"):
        LIF(surrogate="relu")
