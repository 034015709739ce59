"""IR round trip, validation errors naming the field, and widths that real extremes never exceed."""
import copy
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from tests.conftest import random_ir
from core import golden
from core import ir as IR
from core.network import Network
from core.widths import signed_bits


@pytest.fixture(scope="module")
def small_ir():
    return random_ir(quant="4bit", seed=2)


def test_roundtrip(tmp_path, small_ir, fmnist_codes):
    mj, w = small_ir
    IR.save(tmp_path / "ir", mj, w)
    mj2, w2 = IR.read(tmp_path / "ir")
    assert mj2 == json.loads(json.dumps(mj))
    assert set(w2) == set(w) and all(np.array_equal(w[k], w2[k]) for k in w)
    codes, _ = fmnist_codes
    a, b = golden.run(Network(mj, w), codes[:32]), golden.run(Network.load(tmp_path), codes[:32])
    assert np.array_equal(a.acc, b.acc)


def _broken(small_ir, edit):
    mj, w = copy.deepcopy(small_ir[0]), {k: v.copy() for k, v in small_ir[1].items()}
    edit(mj, w)
    return mj, w


@pytest.mark.parametrize("edit,field", [
    (lambda m, w: m.update(version=99), "model.version"),
    (lambda m, w: m.pop("timesteps"), "model.timesteps"),
    (lambda m, w: m["layers"][0].pop("threshold"), "layers[0].threshold"),
    (lambda m, w: m["layers"][2].update(in_shape=[16, 13, 14]), "layers[2].in_shape"),
    (lambda m, w: m["layers"][0].update(kind="lstm"), "layers[0].kind"),
    (lambda m, w: m["layers"][0].update(membrane_bits=4), "layers[0].membrane_bits"),
    (lambda m, w: m["layers"][2].update(membrane_range=[0, 1]), "layers[2].membrane_range"),
    (lambda m, w: m["layers"][4].update(acc_bits=3), "layers[4].acc_bits"),
    (lambda m, w: w.__setitem__("conv1", np.full_like(w["conv1"], 8)), "layers[0].weights"),
    (lambda m, w: w.__setitem__("conv2", w["conv2"][:, :3]), "layers[2].weights"),
    (lambda m, w: w.pop("readout"), "layers[4].weights"),
    (lambda m, w: m["layers"][0].update(leak_shift=0), "layers[0].leak_shift"),
    (lambda m, w: m["layers"][0].update(threshold="12"), "layers[0].threshold"),
    (lambda m, w: m["input"].update(encoding="rate"), "input.encoding"),
    (lambda m, w: m["output"].update(classes=7), "output.classes"),
])
def test_validation_names_the_field(small_ir, edit, field):
    mj, w = _broken(small_ir, edit)
    with pytest.raises(IR.IRError, match=field.replace("[", r"\[").replace("]", r"\]")):
        IR.validate(mj, w)


def test_corrupt_files_give_clear_errors(tmp_path, small_ir):
    d = tmp_path / "ir"
    IR.save(d, *small_ir)
    (d / "model.json").write_text("{ not json")
    with pytest.raises(IR.IRError, match="not valid JSON"):
        IR.read(d)
    IR.save(d, *small_ir)
    (d / "weights.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(IR.IRError, match="unreadable weights"):
        IR.read(d)
    with pytest.raises(IR.IRError, match="no IR here"):
        IR.read(tmp_path / "nothing")


def test_invalid_ir_is_not_written(tmp_path, small_ir):
    mj, w = _broken(small_ir, lambda m, w: m.update(version=2))
    with pytest.raises(IR.IRError):
        IR.save(tmp_path / "ir", mj, w)
    assert not (tmp_path / "ir").exists()
    assert list(tmp_path.iterdir()) == []


def _extreme_ir(bits, sign_mode, k, T, theta, seed):
    """A conv-pool-dense-readout IR with weights at the extremes of their range."""
    rng = np.random.default_rng(seed)
    lim = (1 << (bits - 1)) - 1
    def weights(shape):
        if sign_mode == "pos":
            return np.full(shape, lim, np.int8)
        if sign_mode == "neg":
            return np.full(shape, -lim, np.int8)
        return rng.choice([-lim, lim], size=shape).astype(np.int8)
    w = {"conv1": weights((4, 1, 3, 3)), "dense1": weights((8, 4 * 4 * 4)), "readout": weights((3, 8))}
    common = dict(weight_bits=bits, weight_frac_bits=bits, leak_shift=k, reset="subtract")
    layers = [
        dict(name="conv1", kind="conv", input="codes", in_shape=[1, 8, 8], out_shape=[4, 8, 8],
             kernel=3, padding=1, stride=1, weights="conv1", in_frac_bits=8,
             acc_frac_bits=8 + bits, threshold=theta * 255, **common),
        dict(name="pool1", kind="pool", mode="max", size=2, in_shape=[4, 8, 8], out_shape=[4, 4, 4]),
        dict(name="dense1", kind="dense", input="spikes", in_shape=[4, 4, 4], out_shape=[8],
             weights="dense1", in_frac_bits=0, acc_frac_bits=bits, threshold=theta, **common),
        dict(name="readout", kind="readout", input="spikes", in_shape=[8], out_shape=[3],
             weights="readout", weight_bits=bits, weight_frac_bits=bits, in_frac_bits=0,
             acc_frac_bits=bits),
    ]
    mj = {"format": IR.FORMAT, "version": IR.VERSION, "timesteps": T,
          "input": {"shape": [1, 8, 8], "bits": 8, "signed": False, "frac_bits": 8, "encoding": "direct"},
          "output": {"classes": 3, "argmax_tie": "lowest_index"}, "layers": layers}
    return IR.annotate_widths(mj, w), w


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bits=st.sampled_from([2, 4, 8]), sign=st.sampled_from(["pos", "neg", "mixed"]),
       k=st.integers(1, 15), T=st.integers(1, 16), theta=st.integers(1, 400),
       pixel=st.sampled_from(["zeros", "full", "random", "checker"]), seed=st.integers(0, 999))
def test_extreme_weights_and_inputs_stay_within_derived_widths(bits, sign, k, T, theta, pixel, seed):
    mj, w = _extreme_ir(bits, sign, k, T, theta, seed)
    IR.validate(mj, w)
    rng = np.random.default_rng(seed)
    codes = {"zeros": np.zeros((4, 1, 8, 8), np.uint8), "full": np.full((4, 1, 8, 8), 255, np.uint8),
             "random": rng.integers(0, 256, (4, 1, 8, 8)).astype(np.uint8),
             "checker": (np.indices((8, 8)).sum(0) % 2 * 255).astype(np.uint8)[None, None].repeat(4, 0)}[pixel]
    obs = {}
    golden.run(Network(mj, w), codes, observe=obs)
    for L in mj["layers"]:
        for key in ("current", "membrane", "acc"):
            if f"{key}_range" in L and key in obs.get(L["name"], {}):
                lo, hi = obs[L["name"]][key]
                rlo, rhi = L[f"{key}_range"]
                assert rlo <= lo and hi <= rhi, (L["name"], key, (lo, hi), (rlo, rhi))
                assert signed_bits(lo, hi) <= L[f"{key}_bits"]


def test_all_positive_weights_on_white_image_reach_the_current_bound():
    """The derived current range is tight: the extreme input reaches it exactly."""
    mj, w = _extreme_ir(4, "pos", 3, 4, 10_000, 0)
    obs = {}
    golden.run(Network(mj, w), np.full((1, 1, 8, 8), 255, np.uint8), observe=obs)
    assert obs["conv1"]["current"][1] == mj["layers"][0]["current_range"][1] == 9 * 7 * 255


def test_network_view_is_typed_and_read_only(small_ir):
    net = Network(*small_ir)
    conv1, pool1, conv2 = net.layers[:3]
    assert (conv1.kind, conv1.first, conv1.in_max) == ("conv", True, 255)
    assert (conv2.first, conv2.in_max, pool1.size) == (False, 1, 2)
    assert net.readout.kind == "readout" and net.readout.acc_bits == small_ir[0]["layers"][-1]["acc_bits"]
    with pytest.raises(ValueError):
        conv1.weights[0, 0, 0, 0] = 1                  # weights are read-only
    with pytest.raises(Exception):
        conv1.threshold = 3                            # layers are frozen
    m = net.model
    m["timesteps"] = 99                                # a copy: the view is unchanged
    assert net.timesteps == small_ir[0]["timesteps"] and net.model["timesteps"] != 99
    assert net.sha256 == Network(*small_ir).sha256


def test_export_energy_and_random_irs_name_layers_alike():
    """One naming rule (core.layer_tokens): the QAT export, the energy report and the torch-free
    random IRs give the same layer the same name, and a bad token is refused by name."""
    from core.random_ir import random_ir as torch_free_ir
    from tests.conftest import random_model
    from train.energy import layer_names
    tokens = ["c8", "p2", "c16", "p2", "f32", "r"]
    exported = [L["name"] for L in random_ir(layers=tokens)[0]["layers"]]
    assert exported == ["conv1", "pool1", "conv2", "pool2", "dense1", "readout"]
    assert [L["name"] for L in torch_free_ir(tokens)[0]["layers"]] == exported
    assert [n for n, *_ in layer_names(random_model(layers=tokens))] == exported
    for bad in (lambda: random_model(layers=["c8", "x2", "r"]), lambda: torch_free_ir("c8 x2 r")):
        with pytest.raises(ValueError, match="unknown layer token 'x2'"):
            bad()
