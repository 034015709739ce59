"""The fused C++ LIF kernel (quant/fused_lif.py) against the pure-torch reference path.

Forward: equal to the bit (spikes, pooled spikes, membranes), on random grid currents in every
layout and on real Fashion-MNIST images through the whole model. Backward: the same gradients
as the reference autograd path, to float rounding (as tests/test_lif.py checks the reference).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import ROOT, random_model
from core.network import Network
from quant import fused_lif
from quant import lif as L
from quant.export import to_ir
from quant.verify import compare



@pytest.fixture(scope="module", autouse=True)
def fused_kernel_builds():
    """The setup installs g++ and ninja, so the kernel must build here: a fallback to the slow
    path would make every comparison below compare the reference with itself."""
    assert L.fused_available(), f"the fused LIF kernel did not build: {fused_lif.error()}"


@contextlib.contextmanager
def backend(name, channels_last=True):
    prev = L.set_backend(name)
    old = os.environ.get("HIRE_SNN_CHANNELS_LAST")
    os.environ["HIRE_SNN_CHANNELS_LAST"] = "1" if channels_last else "0"
    try:
        yield
    finally:
        L.set_backend(prev)
        if old is None:
            os.environ.pop("HIRE_SNN_CHANNELS_LAST", None)
        else:
            os.environ["HIRE_SNN_CHANNELS_LAST"] = old


def _close(a, b):
    return torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def _run_lif(lif, base, u0, lsb, T, direct, pool, gen_seed=1):
    c = base.clone().requires_grad_(True)
    u = u0.clone().requires_grad_(True)
    s, uT, full = lif(c, lsb, u, timesteps=T if direct else None, pool=pool, full=True)
    w = torch.randn(s.shape, generator=torch.Generator().manual_seed(gen_seed))
    ((s * w).sum() + (0.3 * uT).sum()).backward()
    out = (s.detach(), uT.detach(), full.detach(), c.grad, u.grad, lif.v_th.grad.clone())
    lif.v_th.grad = None
    return out


@pytest.mark.parametrize("surrogate", L.SURROGATES)
@pytest.mark.parametrize("lsb", [2.0 ** -6, None])
@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.parametrize("pool", [1, 2, 3])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_fused_equals_reference_on_conv_frames(surrogate, lsb, direct, pool, layout):
    """Odd sizes (7 x 9 with pool 2 and 3 leave rows and columns out), membranes carried in."""
    torch.manual_seed(0)
    T, frame = 5, (3, 4, 7, 9)
    lif = L.LIF(leak_shift=3, v_th=0.5, surrogate=surrogate)
    base = torch.randint(-40, 60, (1 if direct else T, *frame)).float() * 2.0 ** -6
    base = base[0] if direct else base
    if layout == "nhwc":
        b4 = (base if direct else base.flatten(0, 1)).contiguous(memory_format=torch.channels_last)
        base = b4 if direct else b4.view(base.shape)
    u0 = torch.randint(-20, 20, frame).float() * 2.0 ** -6
    with backend("fused"):
        got = _run_lif(lif, base, u0, lsb, T, direct, pool)
    with backend("torch"):
        ref = _run_lif(lif, base, u0, lsb, T, direct, pool)
    for a, b in zip(got[:3], ref[:3]):
        assert torch.equal(a, b)
    assert got[0].unique().tolist() in ([0.0, 1.0], [0.0], [1.0])
    for a, b in zip(got[3:], ref[3:]):
        assert _close(a, b), float((a - b).abs().max())


@pytest.mark.parametrize("shape", [(6, 5, 33), (4, 2, 3, 1100)])
def test_fused_equals_reference_on_flat_frames(shape):
    """Dense layers (T, N, F) and frames longer than one tile of 1024 neurons."""
    torch.manual_seed(1)
    lif = L.LIF(leak_shift=2, v_th=0.37)
    base = torch.randint(-300, 500, shape).float() * 2.0 ** -10
    u0 = torch.randint(-100, 100, shape[1:]).float() * 2.0 ** -10
    with backend("fused"):
        got = _run_lif(lif, base, u0, 2.0 ** -10, shape[0], False, 1)
    with backend("torch"):
        ref = _run_lif(lif, base, u0, 2.0 ** -10, shape[0], False, 1)
    assert all(torch.equal(a, b) for a, b in zip(got[:3], ref[:3]))
    assert all(_close(a, b) for a, b in zip(got[3:], ref[3:]))


def test_threads_do_not_change_the_result():
    """The threshold gradient is summed per tile, then in tile order: any thread count."""
    torch.manual_seed(2)
    lif = L.LIF(v_th=0.5)
    base = (torch.randint(-40, 60, (16, 16, 28, 28)).float() * 2.0 ** -6).contiguous(
        memory_format=torch.channels_last)
    u0 = torch.zeros(16, 16, 28, 28)
    n = torch.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with backend("fused"):
                outs.append(_run_lif(lif, base, u0, 2.0 ** -6, 8, True, 2))
    finally:
        torch.set_num_threads(n)
    assert all(torch.equal(a, b) for a, b in zip(*outs))


def _model_pass(model, x, periods):
    """Forward (with record) over the periods, membranes carried, and the gradients."""
    x = x.clone().requires_grad_(True)
    state, recs, accs, loss = None, [], [], 0.0
    for tp in periods:
        acc, state, rec = model(x, state=state, timesteps=tp, record=True)
        accs.append(acc.detach())
        recs += [s for s, _ in rec]
        loss = loss + acc.square().mean()
    model.zero_grad(set_to_none=True)
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()] + [x.grad]
    return accs, recs, [u.detach() for u in state], grads


@pytest.mark.parametrize("quant", ["4bit", "8bit", "float"])
@pytest.mark.parametrize("periods", [[8], [4, 4]])
def test_model_fast_path_equals_reference_on_real_images(fmnist_codes, quant, periods):
    """The whole network (conv1 + LIF + OR pool, conv2 + LIF + OR pool, readout) on real
    Fashion-MNIST images: every spike, membrane and accumulator to the bit; gradients of all
    parameters and of the input (HIRE's noise and the attacks use it) to float rounding."""
    codes, _ = fmnist_codes
    x = torch.from_numpy(codes[:48]).float() / 256.0
    model = random_model(quant, seed=4, v_th=0.3).train()
    results = {}
    for name, be, cl in (("fast", "fused", True), ("fused-nchw", "fused", False), ("ref", "torch", False)):
        with backend(be, channels_last=cl):
            results[name] = _model_pass(model, x, periods)
    ref = results["ref"]
    if quant == "float":
        # no integer grid: channels-last convolutions sum in another order (not exact in float),
        # so only the NCHW fused path is bitwise the reference; the fast one stays close
        accs, recs = results["fast"][:2]
        assert all(torch.allclose(a, b, atol=1e-3, rtol=1e-3) for a, b in zip(accs, ref[0]))
        for a, b in zip(recs, ref[1]):  # spikes agree almost everywhere; accumulators close
            binary = bool(((b == 0) | (b == 1)).all())
            assert float((a == b).float().mean()) > 0.99 if binary else torch.allclose(a, b, rtol=1e-3, atol=1e-3)
    for name in (("fused-nchw",) if quant == "float" else ("fast", "fused-nchw")):
        accs, recs, state, grads = results[name]
        assert all(torch.equal(a, b) for a, b in zip(accs, ref[0]))
        assert len(recs) == len(ref[1]) and all(torch.equal(a, b) for a, b in zip(recs, ref[1]))
        assert all(torch.equal(a, b) for a, b in zip(state, ref[2]))
        for a, b in zip(grads, ref[3]):
            assert torch.allclose(a, b, atol=1e-5, rtol=1e-3), (name, float((a - b).abs().max()))
    assert any(float(s.mean()) > 0.01 for s in ref[1][:-1])  # the layers do spike


@pytest.mark.parametrize("layers", [["c8", "p2", "f32", "r"], ["c4", "c8", "p2", "p2", "r"],
                                    ["f64", "f32", "r"]])
def test_other_shapes_fast_equals_reference(fmnist_codes, layers):
    codes, _ = fmnist_codes
    x = torch.from_numpy(codes[:32]).float() / 256.0
    model = random_model("4bit", seed=1, layers=layers, v_th=0.2, timesteps=5)
    with backend("fused"):
        fast = _model_pass(model, x, [5])
    with backend("torch"):
        ref = _model_pass(model, x, [5])
    assert all(torch.equal(a, b) for a, b in zip(fast[1], ref[1]))
    assert all(torch.allclose(a, b, atol=1e-5, rtol=1e-3) for a, b in zip(fast[3], ref[3]))


@pytest.mark.parametrize("be", ["fused", "torch"])
def test_both_paths_are_bit_exact_with_the_golden_model(fmnist_codes, be):
    codes, _ = fmnist_codes
    model = random_model("4bit", seed=7, v_th=0.3)
    net = Network(*to_ir(model))
    with backend(be):
        agree, _ = compare(model, net, codes[:64], batch_size=32, progress=False)
    assert all(v.all() for v in agree.values())


@pytest.mark.parametrize("channels_last", [False, True])
def test_first_conv_gradients_equal_autograd(channels_last):
    from quant.model import _FirstConv, _as_channels_last
    torch.manual_seed(3)
    x, w = torch.rand(6, 1, 12, 13), torch.randn(8, 1, 3, 3)
    g = torch.randn(6, 8, 12, 13)
    if channels_last:
        x, w, g = _as_channels_last(x), _as_channels_last(w), g.contiguous(memory_format=torch.channels_last)
    res = []
    for fn in (lambda a, b: _FirstConv.apply(a, b, 1), lambda a, b: F.conv2d(a, b, padding=1)):
        a, b = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        y = fn(a, b)
        y.backward(g)
        res.append((y.detach(), a.grad, b.grad))
    assert torch.equal(res[0][0], res[1][0])
    assert all(torch.allclose(p, q, atol=1e-4, rtol=1e-4) for p, q in zip(res[0][1:], res[1][1:]))


def _py(code, **env):
    e = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=300)


_FORWARD = ("import torch; from quant import fused_lif, lif; from quant.model import ModelConfig, QuantSNN;"
            "torch.manual_seed(0); m = QuantSNN(ModelConfig(v_th=0.3));"
            "acc = m(torch.rand(4, 1, 28, 28))[0]; acc.sum().backward();"
            "print(lif.fused_active(), fused_lif.info()['error'], fused_lif.info()['compile_seconds'])")


def test_without_a_compiler_the_torch_path_runs(tmp_path):
    r = _py(_FORWARD, CXX=str(tmp_path / "no-such-g++"), HIRE_SNN_CACHE=str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "False" and "no C++ compiler" in r.stdout


def test_the_torch_path_can_be_forced():
    r = _py(_FORWARD, HIRE_SNN_LIF="torch")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "False" and "compiling" not in r.stderr


def test_compiled_kernel_is_cached():
    """This session already compiled it (pytestmark above): a new process only loads it."""
    r = _py(_FORWARD)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "None", "0.0"] and "compiling" not in r.stderr
    assert fused_lif.cache_dir().exists()


@pytest.mark.parametrize("be", ["fused", "torch"])
def test_keep_state_false_gives_the_same_spikes_and_no_membranes(fmnist_codes, be):
    codes, _ = fmnist_codes
    x = torch.from_numpy(codes[:16]).float() / 256.0
    model = random_model("4bit", seed=2, v_th=0.3)
    with backend(be):
        acc1, st1, rec1 = model(x, record=True)
        acc2, st2, rec2 = model(x, record=True, keep_state=False)
    assert torch.equal(acc1, acc2) and all(torch.equal(a[0], b[0]) for a, b in zip(rec1, rec2))
    assert all(u is not None for u in st1) and all(u is None for u in st2)
