"""NIR (the Neuromorphic Intermediate Representation) in and out: other SNN frameworks' models
reach the bit-exact hardware, and ours reach theirs.

Usage:
  python -m quant.nir export RUN --out model.nir [--dt 1e-4]
  python -m quant.nir check RUN [--n 1000]          ours -> NIR -> snnTorch's own importer,
                                                    prediction agreement with the golden model
  python -m quant.nir inspect model.nir [--reset subtract]   what `train/run.py --init-from`
                                                    would build from a graph, or why it refuses

NIR's LIF is continuous (tau dv/dt = (v_leak - v) + r I, spike when v > v_threshold, reset to
v_reset) with no dt and no integers. At a stated dt (default 1e-4, snnTorch's), forward Euler
gives v <- beta v + (r dt / tau) I with beta = 1 - dt / tau: our leak 1 - 2^-k is tau = 2^k dt
and r = tau / dt makes the input gain 1 (what snnTorch exports and imports).

Export writes the IR's integers dequantised (weights w * 2^-f, thresholds Theta * LSB), so the
graph is the golden model up to what NIR cannot say, kept in each node's metadata: the floor of
the shift leak, reset by subtraction, 8-bit input codes, the readout summed over the timesteps.
NIR fires on v > v_threshold where we fire on U >= Theta, so v_threshold is (Theta - 1/2) LSB:
the same spikes on the integer grid. The OR pooling of spikes has no NIR node; its nearest expression that
snnTorch's importer also runs is AvgPool2d then a memoryless LIF (tau = dt, so beta = 0,
threshold half a spike's share 1 / (2 k^2), reset to zero): it fires iff any input in the window
fired, exactly. On import that pair (or SumPool2d then Threshold) becomes the OR pool again.

Import takes what the layer pipeline holds: a chain Input -> (Conv2d 3x3 / Affine, LIF,
[pool, OR unit]) ... -> Affine -> Output, bias-free, one threshold and one time constant per
layer, v_leak = 0. The time constant moves to the nearest shift leak (reported); NIR's
reset-to-zero becomes reset by subtraction only when asked (`reset="subtract"`), since the
kernels subtract; anything else is refused with an error naming the node.
"""
from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.atomic import atomic_file
from core.errors import FlowError, cli, run_cli
from core.network import Network
from core.runs import load_network, load_vectors

DT = 1e-4  # snnTorch's NIR time step
PRODUCER = "hire-snn"
RESETS = ("refuse", "subtract")
# NIR fires on v > v_threshold; ours on U >= Theta with U an integer: the same spikes for
# v_threshold = (Theta - 1/2) LSB, which is what export writes (import adds the half LSB back)
FIRES = "v > v_threshold = (threshold_code - 1/2) * lsb, i.e. U >= threshold_code on the grid"


class NirError(FlowError, ValueError):
    """A NIR file that cannot be read, or a graph the hardware cannot hold (names the node)."""


def _nir():
    try:
        import nir
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise NirError("the `nir` package is missing: pip install nir==1.0.8") from e
    return nir


def _check_dt(dt: float) -> float:
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise NirError(f"--dt must be a positive time step in seconds, got {dt!r}")
    return float(dt)


# -- export: the IR's integers as a NIR graph (no torch) -------------------------------------------
def _full(shape, value) -> np.ndarray:
    return np.full(tuple(int(s) for s in shape), value, dtype=np.float32)


def _lif(shape, dt, k, threshold, meta) -> object:
    tau = dt * 2.0 ** k
    return _nir().LIF(tau=_full(shape, tau), r=_full(shape, tau / dt), v_leak=_full(shape, 0.0),
                      v_threshold=_full(shape, threshold), v_reset=_full(shape, 0.0),
                      metadata=meta)


def to_nir(net: Network, dt: float = DT):
    """The network as a NIRGraph (float weights and thresholds, integer facts in metadata)."""
    nir = _nir()
    dt = _check_dt(dt)
    nodes = {"input": nir.Input(input_type={"input": np.array(net.in_shape)},
                                metadata={"producer": PRODUCER, "timesteps": int(net.timesteps),
                                          "dt": dt, "input_bits": 8, "input_frac_bits": 8,
                                          "encoding": "direct: the same 8-bit image every step"})}
    order = ["input"]

    def add(name, node):
        nodes[name] = node
        order.append(name)

    for L in net.layers:
        if L.kind == "pool":
            k = L.size
            add(f"{L.name}.avg", nir.AvgPool2d(kernel_size=np.array([k, k]),
                                               stride=np.array([k, k]), padding=np.array([0, 0])))
            add(f"{L.name}.or", _lif(L.out_shape, dt, 0, 0.5 / (k * k),
                                     {"role": "or-pool", "size": k,
                                      "note": "memoryless LIF (tau = dt): fires iff any spike "
                                              "in the window"}))
            continue
        w = L.weights.astype(np.float32) * np.float32(2.0 ** -L.weight_frac_bits)
        wmeta = {"weight_bits": L.weight_bits, "weight_frac_bits": L.weight_frac_bits,
                 "in_frac_bits": L.in_frac_bits, "acc_frac_bits": L.acc_frac_bits}
        if L.kind == "conv":
            add(L.name, nir.Conv2d(input_shape=tuple(L.in_shape[1:]), weight=w, stride=(1, 1),
                                   padding=(1, 1), dilation=(1, 1), groups=1,
                                   bias=np.zeros(w.shape[0], np.float32), metadata=wmeta))
        else:
            if len(L.in_shape) > 1:
                add(f"{L.name}.flatten", nir.Flatten(input_type={"input": np.array(L.in_shape)},
                                                     start_dim=0, end_dim=-1))
            meta = dict(wmeta, role="readout", accumulate="sum over timesteps; class = lowest "
                        "index of the maximum") if L.kind == "readout" else wmeta
            add(L.name, nir.Affine(weight=w, bias=np.zeros(w.shape[0], np.float32), metadata=meta))
        if L.kind == "readout":
            break
        lsb = 2.0 ** -L.acc_frac_bits
        add(f"{L.name}.lif", _lif(L.out_shape, dt, L.leak_shift, (L.threshold - 0.5) * lsb,
                                  {"reset": "subtract", "fires": FIRES,
                                   "leak": "U -= floor(U / 2^k)", "leak_shift": L.leak_shift,
                                   "threshold_code": L.threshold, "lsb": lsb}))
    add("output", nir.Output(output_type={"output": np.array([net.classes])}))
    edges = list(zip(order[:-1], order[1:]))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"producer": PRODUCER})


def export(run, out, dt: float = DT) -> Path:
    """Write RUN's IR as a NIR file (atomically: a failed write leaves nothing)."""
    graph = to_nir(load_network(run), dt)
    out = Path(out)
    with atomic_file(out) as tmp:
        _nir().write(tmp, graph)
    return out


# -- import: a NIR graph -> our layers, leaks, thresholds and float weights -----------------------
@dataclass
class Imported:
    """What a NIR graph becomes here: train/run.py builds the model from it (init_model)."""

    layers: list = field(default_factory=list)       # tokens: c16, p2, f100, r
    in_shape: tuple = ()
    n_classes: int = 0
    leak_shifts: list = field(default_factory=list)  # per spiking layer
    thresholds: list = field(default_factory=list)   # per spiking layer, value units
    weights: list = field(default_factory=list)      # per weight layer, float32, our layout
    leaks: list = field(default_factory=list)        # per spiking layer: node, beta given / used
    notes: list = field(default_factory=list)
    timesteps: int | None = None                     # from our own exports' metadata

    def summary(self) -> dict:
        return {"layers": self.layers, "in_shape": list(self.in_shape),
                "classes": self.n_classes, "leak_shift": self.leak_shifts,
                "thresholds": [round(t, 6) for t in self.thresholds], "leaks": self.leaks,
                "timesteps": self.timesteps, "notes": self.notes}


def read_graph(path):
    """nir.read with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise NirError(f"{path}: no such NIR file; write one with `python -m quant.nir export RUN "
                       "--out FILE` or snnTorch's export_to_nir + nir.write")
    try:
        return _nir().read(path)
    except Exception as e:  # h5py, KeyError, ValueError: every damaged-file failure mode
        raise NirError(f"{path} is not a readable NIR file (corrupt, truncated or another "
                       f"format): {type(e).__name__}: {e}") from e


def _meta(node) -> dict:
    out = {}
    for k, v in (getattr(node, "metadata", None) or {}).items():
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, np.ndarray) and v.shape == ():
            v = v.item()
        out[k] = v
    return out


def _chain(graph) -> list[tuple[str, object]]:
    """The nodes from the one Input to the Output, refusing branches, cycles and subgraphs."""
    nir = _nir()
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            raise NirError(f"node {name!r}: a nested graph (snnTorch writes recurrent RLeaky / "
                           "RSynaptic layers so): recurrent connections are not supported")
    succ, pred = defaultdict(list), defaultdict(list)
    for a, b in graph.edges:
        if a not in graph.nodes or b not in graph.nodes:
            raise NirError(f"edge {a!r} -> {b!r} names a node the graph does not have")
        succ[a].append(b)
        pred[b].append(a)
    loop = _back_edge(graph.nodes, succ)
    if loop:
        raise NirError(f"edge {loop[0]!r} -> {loop[1]!r} closes a loop: recurrent connections "
                       "are not supported")
    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise NirError(f"the graph has {len(inputs)} Input nodes; the hardware takes one image")
    order, seen, cur = [inputs[0]], {inputs[0]}, inputs[0]
    while succ[cur]:
        if len(succ[cur]) > 1:
            raise NirError(f"node {cur!r} feeds {len(succ[cur])} nodes ({', '.join(succ[cur])}): "
                           "only a chain of layers maps to the layer pipeline (no branches)")
        nxt = succ[cur][0]
        if len(pred[nxt]) > 1:
            raise NirError(f"node {nxt!r} has {len(pred[nxt])} inputs: skip connections and "
                           "merges are not supported")
        order.append(nxt)
        seen.add(nxt)
        cur = nxt
    if not isinstance(graph.nodes[cur], nir.Output):
        raise NirError(f"the chain from the input ends at node {cur!r} "
                       f"({type(graph.nodes[cur]).__name__}), not at an Output")
    stray = sorted(set(graph.nodes) - seen)
    if stray:
        raise NirError(f"node(s) {', '.join(stray)} are not on the path from the input to the "
                       "output")
    return [(k, graph.nodes[k]) for k in order]


def _back_edge(nodes, succ) -> tuple | None:
    """An edge that closes a cycle (depth-first search), or None."""
    state = {}
    for root in nodes:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = "open"
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = "done"
                stack.pop()
            elif state.get(nxt) == "open":
                return node, nxt
            elif nxt not in state:
                state[nxt] = "open"
                stack.append((nxt, iter(succ[nxt])))
    return None


def _uniform(node, name, attr, what) -> float:
    a = np.asarray(getattr(node, attr), dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise NirError(f"node {name!r}: {attr} is empty or not finite")
    if not np.allclose(a, a.flat[0], rtol=1e-6, atol=0.0):
        raise NirError(f"node {name!r}: per-neuron {what} ({attr} from {a.min():g} to "
                       f"{a.max():g}); the hardware holds one per layer")
    return float(a.flat[0])


def _pair(v, name, attr) -> tuple:
    if isinstance(v, str):
        raise NirError(f"node {name!r}: {attr} {v!r}; give it as numbers")
    a = np.asarray(v).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, 2)
    if a.size != 2:
        raise NirError(f"node {name!r}: {attr} {v!r} is not a 2-d value")
    return tuple(int(x) for x in a)


def _conv_weight(node, name, shape) -> np.ndarray:
    w = np.asarray(node.weight, dtype=np.float32)
    if w.ndim != 4 or w.shape[2:] != (3, 3):
        raise NirError(f"node {name!r}: Conv2d kernel {tuple(w.shape[2:])}; the hardware's conv "
                       "kernels are 3x3")
    if len(shape) != 3 or w.shape[1] != shape[0]:
        raise NirError(f"node {name!r}: Conv2d of {w.shape[1]} input channels after a "
                       f"{'x'.join(map(str, shape))} tensor")
    for attr, want in (("stride", (1, 1)), ("padding", (1, 1)), ("dilation", (1, 1))):
        if _pair(getattr(node, attr), name, attr) != want:
            raise NirError(f"node {name!r}: Conv2d {attr} {getattr(node, attr)!r}; the hardware "
                           f"computes stride 1, padding 1 ('same'), dilation 1")
    if int(np.asarray(node.groups)) != 1:
        raise NirError(f"node {name!r}: grouped convolution (groups={node.groups}) is not "
                       "supported")
    _no_bias(node, name)
    return w


def _no_bias(node, name):
    b = getattr(node, "bias", None)
    if b is not None and np.any(np.asarray(b) != 0):
        raise NirError(f"node {name!r}: a nonzero bias; the hardware's layers are bias-free "
                       "(train the model with bias=False)")


def _dense_weight(node, name, shape) -> np.ndarray:
    w = np.asarray(node.weight, dtype=np.float32)
    n = int(np.prod(shape))
    if w.ndim != 2 or w.shape[1] != n:
        raise NirError(f"node {name!r}: {type(node).__name__} weight {tuple(w.shape)} after "
                       f"{n} values (shape {tuple(shape)})")
    _no_bias(node, name)
    return w


def _spiking(node, name, dt, reset, imp: Imported) -> tuple[int, float]:
    """(leak shift, threshold in input units) of a LIF node, or an error naming it."""
    nir = _nir()
    if node is None:
        raise NirError("the graph ends after a weight layer with no neurons; the hardware's "
                       "layers are LIF (NIR LIF nodes), its last an Affine readout")
    if not isinstance(node, nir.LIF):
        raise NirError(f"node {name!r}: {type(node).__name__} after a weight layer; the hardware's "
                       "neurons are LIF (NIR LIF nodes)")
    meta = _meta(node)
    if not np.allclose(np.asarray(node.v_leak), 0.0):
        raise NirError(f"node {name!r}: v_leak != 0 (a resting potential); the hardware's "
                       "neurons rest at 0")
    if not np.allclose(np.asarray(node.v_reset), 0.0):
        raise NirError(f"node {name!r}: v_reset != 0; the hardware resets by subtracting the "
                       "threshold")
    tau = _uniform(node, name, "tau", "time constants")
    r = _uniform(node, name, "r", "input resistances")
    vth = _uniform(node, name, "v_threshold", "thresholds")
    if tau <= 0 or r <= 0 or vth <= 0:
        raise NirError(f"node {name!r}: tau {tau:g}, r {r:g}, v_threshold {vth:g} must be > 0")
    if meta.get("reset") != "subtract":
        if reset != "subtract":
            raise NirError(f"node {name!r}: NIR's LIF resets to v_reset (0) after a spike; the "
                           "hardware resets by subtracting the threshold. Pass --nir-reset "
                           "subtract to import it so (fine-tuning adapts the network), or export "
                           "a model trained with reset by subtraction")
        imp.notes.append(f"{name}: reset to zero imported as reset by subtraction")
    beta = 1.0 - dt / tau
    k = int(min(15, max(1, round(math.log2(tau / dt)))))
    used = 1.0 - 2.0 ** -k
    imp.leaks.append({"node": name, "beta": round(beta, 6), "leak_shift": k,
                      "beta_used": used, "tau_ratio": round(dt * 2.0 ** k / tau, 4)})
    if meta.get("fires") == FIRES:  # ours: back from the half-LSB-lower NIR threshold
        vth += 0.5 * float(meta["lsb"])
    gain = r * dt / tau  # the input's weight in the discrete update; fold it into the threshold
    return k, vth / gain


def _or_unit(node, name, pool, pool_name, k, dt) -> None:
    """The node after a pool must make it an OR: a Threshold, or a memoryless LIF."""
    nir = _nir()
    share = 1.0 / (k * k) if isinstance(pool, nir.AvgPool2d) else 1.0
    if isinstance(node, nir.Threshold):
        t = _uniform(node, name, "threshold", "thresholds")
    elif isinstance(node, nir.LIF) and np.allclose(np.asarray(node.v_leak), 0.0):
        tau = _uniform(node, name, "tau", "time constants")
        r = _uniform(node, name, "r", "input resistances")
        if not np.isclose(tau, dt, rtol=1e-6):
            raise NirError(f"node {name!r}: the LIF after pool {pool_name!r} has memory (tau {tau:g} "
                           f"at dt {dt:g}); an OR pool needs tau = dt (beta 0)")
        t = _uniform(node, name, "v_threshold", "thresholds") / (r * dt / tau)
    else:
        raise NirError(f"node {name!r}: {type(node).__name__} after a pool; pooling spikes gives "
                       "counts, and the hardware pools by OR: follow the pool with a Threshold "
                       "(or, from snnTorch, a Leaky with beta 0, a threshold below 1/k^2 and "
                       "reset to zero)")
    if not 0.0 <= t < share:
        raise NirError(f"node {name!r}: threshold {t:g} after a {k}x{k} "
                       f"{type(pool).__name__}: an OR needs one in [0, {share:g})")


def from_nir(graph, dt: float = DT, reset: str = "refuse") -> Imported:
    """Map a NIR graph onto the layer pipeline, or raise NirError naming the node that does not."""
    nir = _nir()
    dt = _check_dt(dt)
    if reset not in RESETS:
        raise NirError(f"reset must be one of {', '.join(RESETS)}, got {reset!r}")
    chain = _chain(graph)
    imp = Imported()
    name, node = chain[0]
    shape = tuple(int(s) for s in np.asarray(node.input_type["input"]).reshape(-1))
    meta = _meta(node)
    if meta.get("producer") == PRODUCER and "timesteps" in meta:
        imp.timesteps = int(meta["timesteps"])
        if not math.isclose(float(meta.get("dt", dt)), dt, rel_tol=1e-9):
            imp.notes.append(f"exported at dt {meta['dt']:g}, imported at dt {dt:g}")
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]  # a batch dimension of 1 left in by the exporter
    if len(shape) != 3:
        raise NirError(f"node {name!r}: input shape {shape}; the hardware takes C x H x W images")
    imp.in_shape = shape
    i, spiking_last = 1, False
    while i < len(chain):
        name, node = chain[i]
        nxt = chain[i + 1] if i + 1 < len(chain) else (None, None)
        if isinstance(node, nir.Output):
            if not imp.layers or imp.layers[-1] != "r":
                raise NirError(f"node {name!r}: the output must follow an Affine / Linear readout "
                               "(the accumulator summed over the timesteps)")
            break
        if isinstance(node, nir.Flatten):
            shape = (int(np.prod(shape)),)
            i += 1
            continue
        if isinstance(node, nir.Conv2d):
            w = _conv_weight(node, name, shape)
            k, th = _spiking(nxt[1], nxt[0], dt, reset, imp)
            imp.layers.append(f"c{w.shape[0]}")
            imp.weights.append(w)
            imp.leak_shifts.append(k)
            imp.thresholds.append(th)
            shape = (w.shape[0], *shape[1:])
            spiking_last, i = True, i + 2
            continue
        if isinstance(node, (nir.Affine, nir.Linear)):
            w = _dense_weight(node, name, shape)
            imp.weights.append(w)
            if isinstance(nxt[1], nir.Output):
                imp.layers.append("r")
                imp.n_classes = int(w.shape[0])
                i += 1
                continue
            k, th = _spiking(nxt[1], nxt[0], dt, reset, imp)
            imp.layers.append(f"f{w.shape[0]}")
            imp.leak_shifts.append(k)
            imp.thresholds.append(th)
            shape = (int(w.shape[0]),)
            spiking_last, i = True, i + 2
            continue
        if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
            k = _pair(node.kernel_size, name, "kernel_size")
            if k[0] != k[1] or _pair(node.stride, name, "stride") != k \
                    or any(_pair(node.padding, name, "padding")):
                raise NirError(f"node {name!r}: pooling {node.kernel_size} stride {node.stride} "
                               f"padding {node.padding}; the hardware pools k x k windows, "
                               "stride k, no padding")
            if not spiking_last or len(shape) != 3:
                raise NirError(f"node {name!r}: pooling must follow a spiking conv layer")
            if nxt[1] is None:
                raise NirError(f"node {name!r}: the graph ends at a pool")
            _or_unit(nxt[1], nxt[0], node, name, k[0], dt)
            imp.layers.append(f"p{k[0]}")
            shape = (shape[0], shape[1] // k[0], shape[2] // k[0])
            spiking_last, i = False, i + 2
            continue
        raise NirError(f"node {name!r}: NIR {type(node).__name__} is not supported here (the "
                       "hardware holds Conv2d 3x3 / Affine layers of LIF neurons, OR pooling and "
                       "an Affine readout)")
    if not imp.layers or imp.layers[-1] != "r":
        raise NirError("the graph has no readout: it must end Affine / Linear -> Output")
    if not any(t[0] in "cf" for t in imp.layers):
        raise NirError("the graph has no spiking layer")
    return imp


def clip_for(w: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """(w clipped, f): the power-of-two step 2^-f of least squared error for signed narrow-range
    `bits`-bit codes, w clipped to that grid's range. Brevitas' quantizer takes its step from the
    largest weight; a float model's outliers would make that step coarse (the default network
    from snnTorch: 80 % clean accuracy at 4 bits from the largest weight, 88 % from this one),
    so the weights are clipped first. Weights already on such a grid come back unchanged."""
    qmax = 2 ** (bits - 1) - 1
    top = float(np.abs(w).max())
    if top == 0.0:
        return w, 0
    f0 = int(math.ceil(-math.log2(top / qmax)))
    best = None
    for f in range(f0 - 1, f0 + 6):   # coarser by one (rounding) to 32x finer (clipping)
        step = 2.0 ** -f
        err = float(((w - np.clip(np.round(w / step), -qmax, qmax) * step) ** 2).mean())
        if best is None or err < best[0]:
            best = (err, f)
    step = 2.0 ** -best[1]
    return np.clip(w, -qmax * step, qmax * step).astype(np.float32), best[1]


def init_model(model, imp: Imported) -> list[int]:
    """Load the imported float weights (clipped for the model's weight bits, clip_for) and
    thresholds into a QuantSNN built from imp.layers; Brevitas' quantizers quantise them
    (post-training) on the next forward. Returns each weight layer's chosen f."""
    import torch
    blocks = [b for b in model.blocks if b.kind != "pool"]
    if len(blocks) != len(imp.weights):
        raise NirError(f"the model has {len(blocks)} weight layers, the graph {len(imp.weights)}")
    spiking = iter(imp.thresholds)
    fracs = []
    with torch.no_grad():
        for b, w in zip(blocks, imp.weights):
            layer = getattr(b, "conv", None) or b.fc
            if tuple(layer.weight.shape) != w.shape:
                raise NirError(f"weight shape {w.shape} does not fit the model's "
                               f"{tuple(layer.weight.shape)}")
            if model.bits is not None:
                w, f = clip_for(w, model.bits)
                fracs.append(f)
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            if b.kind != "readout":
                b.lif.v_th.fill_(float(next(spiking)))
    return fracs


# -- ours -> NIR -> snnTorch -------------------------------------------------------------------------
def snntorch_module(graph):
    """snnTorch's own importer on the graph, made to run batched: NIR's Flatten counts from the
    first non-batch dimension, which nirtorch keeps as torch's start_dim 0."""
    import torch
    from snntorch.import_nir import import_from_nir
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):  # its progress prints
        net = import_from_nir(graph)
    for m in net.modules():
        if isinstance(m, torch.nn.Flatten) and m.start_dim == 0:
            m.start_dim = 1
    return net


def honour_reset(net, graph) -> int:
    """Set the imported snnTorch neurons whose node's metadata says so to reset by subtraction
    (NIR's LIF cannot say it; snnTorch imports every LIF resetting to zero). Returns how many."""
    mods = dict(net.named_modules())
    n = 0
    for name, node in graph.nodes.items():
        m = mods.get(name.replace(".", "_"))
        if _meta(node).get("reset") == "subtract" and m is not None:
            m.reset_mechanism = "subtract"
            n += 1
    return n


def snntorch_predict(net, codes: np.ndarray, timesteps: int, batch: int = 100) -> np.ndarray:
    """Class predictions of an imported snnTorch module: T calls per batch (its neurons keep
    their state inside), the readout summed over them, membranes reset between batches."""
    import torch
    from snntorch import utils as snn_utils
    preds = []
    with torch.no_grad():
        for s in range(0, len(codes), batch):
            x = torch.from_numpy(codes[s:s + batch].astype(np.float32) / 256.0)
            snn_utils.reset(net)
            acc = 0
            for _ in range(timesteps):
                out = net(x)
                acc = acc + (out[0] if isinstance(out, tuple) else out)
            preds.append(acc.argmax(1).numpy())
    return np.concatenate(preds) if preds else np.zeros(0, np.int64)


def check(run, n: int = 1000, dt: float = DT, out: Path | None = None) -> dict:
    """Export RUN, write and read the file back, import it with snnTorch's importer and compare its
    predictions with the golden model's (the QAT model's, to the bit) on n clean test images."""
    from core import golden
    nir = _nir()
    net = load_network(run)
    codes, labels = load_vectors(run, "none", n, net.in_shape)
    path = Path(out) if out else Path(run) / "model.nir"
    with atomic_file(path) as tmp:
        nir.write(tmp, to_nir(net, dt))
    graph = read_graph(path)
    ours = golden.predict(net, codes)[1]
    theirs = snntorch_predict(snntorch_module(graph), codes, net.timesteps)
    fixed = snntorch_module(graph)
    honour_reset(fixed, graph)
    theirs_sub = snntorch_predict(fixed, codes, net.timesteps)
    return {"images": int(len(codes)),
            "agreement": round(float((ours == theirs).mean()), 4),
            "agreement_reset_subtract": round(float((ours == theirs_sub).mean()), 4),
            "golden_accuracy": round(float((ours == labels).mean()), 4),
            "snntorch_accuracy": round(float((theirs == labels).mean()), 4),
            "snntorch_reset_subtract_accuracy": round(float((theirs_sub == labels).mean()), 4),
            "nir": str(path), "dt": dt,
            "gap": "snnTorch imports NIR's LIF resetting to zero (ours subtracts: "
                   "agreement_reset_subtract sets the neurons the metadata names back to "
                   "subtraction); both leak without our floor (U - floor(U / 2^k))"}


# -- command line ------------------------------------------------------------------------------------
@cli
def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m quant.nir", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="a run's network as a NIR file")
    e.add_argument("run", help="run folder (or IR folder)")
    e.add_argument("--out", required=True, help="the .nir file to write")
    c = sub.add_parser("check", help="ours -> NIR -> snnTorch: prediction agreement")
    c.add_argument("run", nargs="?", default="runs/latest")
    c.add_argument("--n", type=int, default=1000, help="clean test images of vectors.npz (1000)")
    c.add_argument("--out", default=None, help="where to write the NIR file (RUN/model.nir)")
    c.add_argument("--json", default=None, help="also write the result here")
    i = sub.add_parser("inspect", help="what train/run.py --init-from would build from a file")
    i.add_argument("file")
    i.add_argument("--reset", choices=RESETS, default="refuse",
                   help="a LIF resetting to zero: refuse (default) or import as subtraction")
    for p in (e, c, i):
        p.add_argument("--dt", type=float, default=DT, help=f"the time step (default {DT:g} s)")
    a = ap.parse_args(argv)
    if a.cmd == "export":
        out = export(a.run, a.out, a.dt)
        print(json.dumps({"nir": str(out), "dt": _check_dt(a.dt)}))
    elif a.cmd == "check":
        if a.n < 1:
            ap.error("--n must be >= 1")
        r = check(a.run, a.n, a.dt, a.out)
        print(f"ours -> NIR -> snnTorch: {r['agreement']:.2%} of {r['images']} predictions agree "
              f"as snnTorch imports it (reset to zero), {r['agreement_reset_subtract']:.2%} with "
              f"the reset by subtraction the metadata names (accuracy: golden "
              f"{r['golden_accuracy']:.2%}, snnTorch {r['snntorch_accuracy']:.2%} / "
              f"{r['snntorch_reset_subtract_accuracy']:.2%})")
        if a.json:
            with atomic_file(a.json) as tmp:
                tmp.write_text(json.dumps(r, indent=2) + "\n")
        print(json.dumps(r))
    else:
        imp = from_nir(read_graph(a.file), a.dt, a.reset)
        print(json.dumps(imp.summary()))
    return 0


if __name__ == "__main__":
    run_cli(main)
