"""NIR in and out (quant/nir.py): our export read back by `nir.read` imports to the same integers;
snnTorch's own importer runs it and agrees with the golden model; graphs the hardware cannot hold
are refused naming the node; a bad file or flag leaves no run folder behind."""
from __future__ import annotations

import nir
import numpy as np
import pytest

from core import golden
from core import ir as IR
from core.network import Network
from core.runs import load_vectors
from quant import nir as N
from tests.conftest import ROOT, run_cli


def _rebuild(imp):
    """A QuantSNN made from an import and loaded with its weights (what --init-from does)."""
    from quant.model import ModelConfig, QuantSNN
    model = QuantSNN(ModelConfig(arch="nir", layers=imp.layers, in_shape=imp.in_shape,
                                 n_classes=imp.n_classes, quant="4bit", timesteps=imp.timesteps,
                                 leak_shift=imp.leak_shifts))
    N.init_model(model, imp)
    return model.eval()


def test_export_reads_back_and_imports_to_the_same_integers(trained_run, tmp_path):
    """ours -> .nir -> nir.read -> our importer -> Brevitas: the IR again, to the bit."""
    from quant.export import to_ir
    run, _ = trained_run
    path = N.export(run, tmp_path / "m.nir")
    graph = nir.read(path)
    assert [type(n).__name__ for n in graph.nodes.values()].count("LIF") == 4  # 2 layers + 2 ORs
    imp = N.from_nir(graph)
    assert imp.layers == ["c16", "p2", "c48", "p2", "r"] and imp.timesteps == 8
    assert all(L["tau_ratio"] == 1.0 for L in imp.leaks) and not imp.notes
    mj, w = IR.read(run)
    mj2, w2 = to_ir(_rebuild(imp))
    assert set(w) == set(w2) and all(np.array_equal(w[k], w2[k]) for k in w)
    keys = ("threshold", "leak_shift", "weight_frac_bits", "acc_frac_bits", "kind", "out_shape")
    assert [{k: L.get(k) for k in keys} for L in mj["layers"]] == \
        [{k: L.get(k) for k in keys} for L in mj2["layers"]]


def test_snntorch_importer_agrees_with_the_golden_model(trained_run, tmp_path):
    """snnTorch's import_from_nir run T steps, as imported (reset to zero) and with the reset
    by subtraction the metadata names: the same class on nearly every image."""
    run, _ = trained_run
    r = N.check(run, n=120, out=tmp_path / "m.nir")
    assert r["images"] == 120 and (tmp_path / "m.nir").is_file()
    assert r["agreement"] >= 0.95 and r["agreement_reset_subtract"] >= 0.95, r
    net = Network.load(run)
    codes, labels = load_vectors(run, "none", 120, net.in_shape)
    assert r["golden_accuracy"] == round(float((golden.predict(net, codes)[1] == labels).mean()), 4)


def _lif(shape=(2, 4, 4), **kw):
    p = dict(tau=2e-4, r=2.0, v_leak=0.0, v_threshold=0.5, v_reset=0.0)
    p.update(kw)
    return nir.LIF(**{k: np.broadcast_to(np.asarray(v, np.float32), shape).copy()
                      for k, v in p.items()}, metadata={"reset": "subtract"})


def _graph(*mid, edges=None):
    """Input (1, 4, 4) -> mid... -> Output (3): a small chain, or the given edges."""
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 4, 4])})}
    names = ["input"]
    for i, n in enumerate(mid):
        nodes[f"n{i}"] = n
        names.append(f"n{i}")
    nodes["output"] = nir.Output(output_type={"output": np.array([3])})
    names.append("output")
    return nir.NIRGraph(nodes=nodes, edges=edges or list(zip(names[:-1], names[1:])),
                        type_check=False)


def _conv(cout=2, k=3, bias=0.0, **kw):
    return nir.Conv2d(input_shape=(4, 4), weight=np.ones((cout, 1, k, k), np.float32) * 0.1,
                      stride=kw.get("stride", 1), padding=kw.get("padding", 1), dilation=1,
                      groups=1, bias=np.full(cout, bias, np.float32))


def _readout(n_in=32):
    return nir.Linear(weight=np.ones((3, n_in), np.float32))


def _flat(shape=(2, 4, 4)):
    return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)


def test_a_valid_small_graph_imports_and_the_leak_moves_to_the_nearest_shift():
    g = _graph(_conv(), _lif(tau=3e-4, r=3.0), nir.SumPool2d(kernel_size=np.array([2, 2]),
               stride=np.array([2, 2]), padding=np.array([0, 0])),
               nir.Threshold(threshold=np.full((2, 2, 2), 0.5, np.float32)),
               _flat((2, 2, 2)), _readout(8))
    imp = N.from_nir(g)
    assert imp.layers == ["c2", "p2", "r"] and imp.n_classes == 3
    # tau 3 dt (beta 2/3) -> 2^k dt nearest in log: k = 2 (4 dt, beta 0.75), moved x1.333
    assert imp.leak_shifts == [2] and imp.leaks[0]["tau_ratio"] == pytest.approx(4 / 3, abs=1e-3)
    assert imp.thresholds == [pytest.approx(0.5)]  # r dt / tau = 1: no gain to fold


@pytest.mark.parametrize("graph, names", [
    (lambda: _graph(_conv(), _lif(v_leak=0.1), _flat(), _readout()), ("n1", "v_leak")),
    (lambda: _graph(_conv(), _lif(v_threshold=np.linspace(0.4, 0.6, 32).reshape(2, 4, 4)),
                    _flat(), _readout()), ("n1", "per-neuron thresholds")),
    (lambda: _graph(_conv(), nir.CubaLIF(tau_syn=np.ones(32), tau_mem=np.ones(32), r=np.ones(32),
                                         v_leak=np.zeros(32), v_threshold=np.ones(32),
                                         w_in=np.ones(32)), _flat(), _readout()),
     ("n1", "CubaLIF")),
    (lambda: _graph(_conv(k=5, padding=2), _lif(), _flat(), _readout()), ("n0", "3x3")),
    (lambda: _graph(_conv(bias=0.2), _lif(), _flat(), _readout()), ("n0", "bias")),
    (lambda: _graph(_conv(), _lif(), nir.AvgPool2d(kernel_size=np.array([2, 2]),
                    stride=np.array([2, 2]), padding=np.array([0, 0])), _flat((2, 2, 2)),
                    _readout(8)), ("n3", "OR")),
    (lambda: _graph(_conv(), _lif(), _flat(), _readout(),
                    edges=[("input", "n0"), ("n0", "n1"), ("n1", "n0"), ("n1", "n2"),
                           ("n2", "n3"), ("n3", "output")]), ("loop",)),
    (lambda: _graph(nir.Delay(delay=np.ones(16)), _flat((1, 4, 4)), _readout(16)),
     ("n0", "Delay")),
])
def test_graphs_the_hardware_cannot_hold_are_refused_naming_the_node(graph, names):
    with pytest.raises(N.NirError) as e:
        N.from_nir(graph())
    assert all(n in str(e.value) for n in names), str(e.value)


def test_reset_to_zero_is_refused_unless_asked_for():
    lif = _lif()
    lif.metadata = {}  # snnTorch's export: NIR's plain LIF, which resets to v_reset
    g = _graph(_conv(), lif, _flat(), _readout())
    with pytest.raises(N.NirError, match="--nir-reset subtract"):
        N.from_nir(g)
    imp = N.from_nir(g, reset="subtract")
    assert imp.layers == ["c2", "r"] and "reset to zero imported as reset by subtraction" in \
        imp.notes[0]


def test_bad_files_and_flags_give_clear_errors_and_no_run_folder(tmp_path):
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(N.NirError, match="bad.nir is not a readable NIR file"):
        N.read_graph(bad)
    out = tmp_path / "run"
    r = run_cli(str(ROOT / "train" / "run.py"), "--init-from", str(bad), "--out", str(out),
                "--no-progress")
    assert r.returncode == 2 and "not a readable NIR file" in r.stderr and not out.exists()
    r = run_cli(str(ROOT / "train" / "run.py"), "--init-from", str(bad), "--arch", "fmnist-conv",
                "--out", str(out))
    assert r.returncode == 2 and "--arch comes from the NIR graph" in r.stderr
    r = run_cli("quant.nir", "export", str(tmp_path / "nope"), "--out", str(tmp_path / "x.nir"))
    assert r.returncode == 2 and "error:" in r.stderr and not (tmp_path / "x.nir").exists()


def test_post_training_clip_picks_the_least_squares_step_and_keeps_grid_weights():
    """An outlier would make Brevitas' largest-weight step coarse: the clip picks a finer step
    (lower squared error than the largest weight's); weights on a 4-bit grid come back as they
    were, so our own exports import to the same integers."""
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.05, 2000).astype(np.float32)
    w[0] = 1.0                                           # one outlier
    clipped, f = N.clip_for(w, 4)

    def err(step):
        return float(((w - np.clip(np.round(w / step), -7, 7) * step) ** 2).mean())
    assert 2.0 ** -f < 1.0 / 7 and err(2.0 ** -f) < err(2.0 ** -np.ceil(-np.log2(1.0 / 7)))
    assert clipped.max() == pytest.approx(7 * 2.0 ** -f) and clipped[1:].tolist() == \
        np.clip(w[1:], -7 * 2.0 ** -f, 7 * 2.0 ** -f).tolist()
    grid = (rng.integers(-7, 8, 500) * 2.0 ** -5).astype(np.float32)
    grid[0] = 7 * 2.0 ** -5
    same, f = N.clip_for(grid, 4)
    assert f == 5 and np.array_equal(same, grid)
