"""IR -> hardware stages: the hls4ml-style config step.

Decides, for every IR layer, which kernel of firmware/snn_utils implements it, the numbers of
its generated config struct (shapes, lanes, groups, widths), the streams that join the stages
and the layout of its weights. Templates only print what this module decides; the latency model
reads the same stages. Everything that cannot be mapped raises GeneratorError here, before any
file is written.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hls import hls_config
from hls.errors import GeneratorError
from quant import ir as IR

MAX_BITS = 32  # registers wider than this are not supported (the output words are 32-bit)
MAPPED_KINDS = ("conv", "dense", "pool", "readout")
TRACE_MAX_STREAMS = 64  # snn_common.h
TRACE_MAX_T = 1024


def index_bits(n: int) -> int:
    """Bits of an unsigned index 0..n-1 (at least 1: ap_uint<0> does not exist)."""
    return max(1, (n - 1).bit_length())


@dataclass
class SpikeMap:
    """A [channels, height, width] spike map sent as slices of `slice` channels per token."""

    channels: int
    height: int
    width: int
    slice: int

    @property
    def groups(self) -> int:
        return math.ceil(self.channels / self.slice)

    @property
    def padded_channels(self) -> int:
        return self.groups * self.slice

    @property
    def neurons(self) -> int:
        return self.channels * self.height * self.width

    def slice_sizes(self) -> list[int]:
        """Real (unpadded) channels in each group's slice."""
        return [min(self.slice, self.channels - g * self.slice) for g in range(self.groups)]

    def token_type(self) -> str:
        return (f"snn::spike_slice<{self.slice}, {index_bits(self.height)}, "
                f"{index_bits(self.width)}, {index_bits(self.groups)}>")


@dataclass
class Stream:
    """An hls::stream between two stages: spike slices of a map, or current lane vectors."""

    name: str
    ctype: str
    typedef: str
    depth: int
    spikes: SpikeMap | None = None
    layer: str = ""          # IR layer whose output it carries
    trace_id: int | None = None


@dataclass
class WeightArray:
    """A weight layer's integers in the layout its kernel reads, and the C++ declaration."""

    name: str
    ctype: str
    values: np.ndarray
    layout: str

    @property
    def dims(self) -> str:
        return "".join(f"[{d}]" for d in self.values.shape)


@dataclass
class Stage:
    """One dataflow process: a kernel call configured by a generated struct."""

    name: str                 # config struct is config_<name>
    layer: dict               # the IR layer
    kernel: str               # function in namespace snn
    params: dict              # struct constants, in print order
    types: dict               # struct typedefs, name -> C++ type
    args: list                # call arguments: stream names, s_axis / m_axis, weight array
    comment: str
    in_stream: Stream | None = None
    out_stream: Stream | None = None
    weights: WeightArray | None = None
    memory_bits: dict = field(default_factory=dict)  # on-chip storage by purpose

    @property
    def config(self) -> str:
        return f"config_{self.name}"

    @property
    def type_refs(self) -> dict:
        """Struct typedef name -> the layer's register type in defines.h."""
        return {t: f"{self.layer['name']}_{t}" for t in self.types}


@dataclass
class Design:
    """Everything the writer and the latency model need."""

    model: dict
    settings: dict            # effective hls_config
    stages: list
    streams: list
    lanes: dict               # layer name -> lanes
    in_shape: tuple
    classes: int
    timesteps: int

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def trace_streams(self) -> list:
        return [s for s in self.streams if s.trace_id is not None]

    @property
    def weight_arrays(self) -> list:
        return [st.weights for st in self.stages if st.weights is not None]

    @property
    def layer_types(self) -> list:
        """(name, C++ type) of every layer register type, once each, in stage order."""
        out = {}
        for st in self.stages:
            for t, ref in st.type_refs.items():
                out.setdefault(ref, st.types[t])
        return list(out.items())


def _fail(L: dict, i: int, fld: str, msg: str):
    name = L.get("name", f"layers[{i}]") if isinstance(L, dict) else f"layers[{i}]"
    raise GeneratorError(f"layer {name!r} (layers[{i}]) field {fld!r}: {msg}")


def check_mappable(model: dict, weights: dict) -> None:
    """Kinds the generator knows, then the IR's own validation, then hardware limits."""
    layers = model.get("layers") if isinstance(model, dict) else None
    if isinstance(layers, list):
        for i, L in enumerate(layers):
            kind = L.get("kind") if isinstance(L, dict) else None
            if kind not in MAPPED_KINDS:
                _fail(L, i, "kind", f"cannot map layer kind {kind!r} to hardware "
                                    f"(mapped kinds: {', '.join(MAPPED_KINDS)})")
    try:
        IR.validate(model, weights)
    except IR.IRError as e:
        raise GeneratorError(f"invalid IR: {e}") from e
    T = model["timesteps"]
    if T > TRACE_MAX_T:
        raise GeneratorError(f"model field 'timesteps': {T} exceeds the {TRACE_MAX_T} supported")
    for i, L in enumerate(model["layers"]):
        if i == 0 and L["kind"] == "pool":
            _fail(L, i, "kind", "the first layer must be a weight layer (pooling input codes "
                                "is not supported)")
        if L["kind"] == "conv" and L.get("stride", 1) != 1:
            _fail(L, i, "stride", f"only stride 1 is supported, got {L.get('stride')!r}")
        if L["kind"] == "conv" and L["kernel"] - 1 > 2 * L["padding"] + min(L["in_shape"][1:]):
            _fail(L, i, "kernel", "kernel larger than the padded input")
        for fld in ("current_bits", "membrane_bits", "acc_bits"):
            if fld in L and L[fld] > MAX_BITS:
                _fail(L, i, fld, f"{L[fld]} bits exceeds the {MAX_BITS} the kernels support "
                                 "(use fewer weight bits, fewer timesteps or a smaller layer)")
        if "threshold" in L and L["threshold"] >= 2 ** 62:
            _fail(L, i, "threshold", f"{L['threshold']} does not fit a 64-bit constant")


def _spike_stream(name: str, layer: str, smap: SpikeMap, depth: int) -> Stream:
    return Stream(name=f"{name}_spikes", ctype=f"{name}_spikes_t", typedef=smap.token_type(),
                  depth=depth, spikes=smap, layer=layer)


def _current_stream(name: str, lanes: int, current_t: str) -> Stream:
    return Stream(name=f"{name}_current", ctype=f"{name}_current_vec_t",
                  typedef=f"snn::lane_vec<{current_t}, {lanes}>", depth=4, layer=name)


def _pad_outputs(w: np.ndarray, groups: int, lanes: int) -> np.ndarray:
    """Zero rows for the padded output channels: they never spike and never reach the output."""
    pad = groups * lanes - w.shape[0]
    return np.concatenate([w, np.zeros((pad, *w.shape[1:]), w.dtype)]) if pad else w


def _dense_input_layout(w: np.ndarray, in_map: SpikeMap) -> np.ndarray:
    """(O, C*H*W) -> (O, Cpad*H*W): zero columns for the padded input channels."""
    o = w.shape[0]
    hw = in_map.height * in_map.width
    w3 = w.reshape(o, in_map.channels, hw)
    pad = in_map.padded_channels - in_map.channels
    if pad:
        w3 = np.concatenate([w3, np.zeros((o, pad, hw), w.dtype)], axis=1)
    return w3.reshape(o, -1)


def _widths(L: dict, *names) -> dict:
    out = {f"{n}_t": f"ap_int<{L[n + '_bits']}>" for n in names}
    if "membrane" in names:  # compared with the membrane: wide enough for both
        out["threshold_t"] = f"ap_int<{max(L['membrane_bits'], L['threshold'].bit_length() + 1)}>"
    return out


def build(model: dict, weights: dict, settings: dict) -> Design:
    """Map a validated IR onto kernel stages under the given hls_config settings."""
    check_mappable(model, weights)
    hls_config.check_layer_names(settings, model)
    T = model["timesteps"]
    depth = settings["fifo_depth"]
    layers = model["layers"]
    stages, streams, lanes_of = [], [], {}
    prev: Stream | None = None
    in_c, in_h, in_w = model["input"]["shape"]

    for i, L in enumerate(layers):
        name, kind = L["name"], L["kind"]
        if not name.isidentifier():
            _fail(L, i, "name", f"{name!r} is not a C identifier")
        if kind == "pool":
            src = prev.spikes
            s = L["size"]
            out = SpikeMap(src.channels, src.height // s, src.width // s, src.slice)
            st_out = _spike_stream(name, name, out, depth)
            stages.append(Stage(
                name=name, layer=L, kernel="pool_or",
                params=dict(size=s, out_h=out.height, out_w=out.width, in_groups=src.groups,
                            out_g=src.slice, timesteps=T, stamp_bits=index_bits(T + 1),
                            trace_id=0),
                types={}, args=[prev.name, st_out.name],
                comment=f"{name}: OR pooling {s}x{s} of {prev.layer}'s spikes",
                in_stream=prev, out_stream=st_out,
                memory_bits={"pool state": src.groups * out.height * out.width
                             * (src.slice + index_bits(T + 1))}))
            streams.append(st_out)
            prev = st_out
            continue

        w = np.asarray(weights[L["weights"]]).astype(np.int64)
        outs = L["out_shape"][0]
        lanes = hls_config.layer_lanes(settings, L, outs)
        lanes_of[name] = lanes
        groups = math.ceil(outs / lanes)
        wb = L["weight_bits"]
        wtype = {"weight_t": f"ap_int<{wb}>"}
        wname = f"w_{name}"

        if i == 0:
            # direct input: current once per image (multipliers), then LIF (or readout) over T
            cur = _current_stream(name, lanes, f"{name}_current_t")
            streams.append(cur)
            common = dict(in_c=in_c, in_h=in_h, in_w=in_w)
            if kind == "conv":
                K, p = L["kernel"], L["padding"]
                oh, ow = L["out_shape"][1:]
                arr = _pad_outputs(w, groups, lanes).reshape(groups, lanes, in_c * K * K)
                arr = arr.transpose(0, 2, 1)
                cur_stage = Stage(
                    name=f"{name}_current", layer=L, kernel="conv_direct_current",
                    params=dict(**common, out_h=oh, out_w=ow, kernel=K, pad=p, lanes=lanes,
                                groups=groups),
                    types={"code_t": "ap_uint<8>", **wtype, **_widths(L, "current")},
                    args=["s_axis", cur.name, wname],
                    comment=f"{name}: convolution current of the input codes, once per image",
                    out_stream=cur,
                    weights=WeightArray(wname, f"{name}_weight_t", arr, "[group][tap][lane]"),
                    memory_bits={"input frame": in_c * (in_h + 2 * p) * (in_w + 2 * p) * 8,
                                 "weights": arr.size * wb})
                positions = (oh, ow)
            else:
                n_in = in_c * in_h * in_w
                arr = _pad_outputs(w, groups, lanes).reshape(groups, lanes, n_in).transpose(0, 2, 1)
                cur_stage = Stage(
                    name=f"{name}_current", layer=L, kernel="dense_direct_current",
                    params=dict(**common, pad=0, n_in=n_in, lanes=lanes, groups=groups),
                    types={"code_t": "ap_uint<8>", **wtype, **_widths(L, "current")},
                    args=["s_axis", cur.name, wname],
                    comment=f"{name}: dense current of the input codes, once per image",
                    out_stream=cur,
                    weights=WeightArray(wname, f"{name}_weight_t", arr, "[group][input][lane]"),
                    memory_bits={"input frame": n_in * 8, "weights": arr.size * wb})
                positions = (1, 1)
            stages.append(cur_stage)
            if kind == "readout":
                stages.append(Stage(
                    name=name, layer=L, kernel="readout_direct",
                    params=dict(classes=outs, lanes=lanes, groups=groups, timesteps=T),
                    types=_widths(L, "current", "acc"), args=[cur.name, "m_axis"],
                    comment=f"{name}: readout, accumulators = T x current; class and "
                            "accumulators to m_axis",
                    in_stream=cur, memory_bits={"accumulators": groups * lanes * L["acc_bits"]}))
                prev = None
                continue
            out = SpikeMap(outs, positions[0], positions[1], lanes)
            st_out = _spike_stream(name, name, out, depth)
            n = positions[0] * positions[1] * groups * lanes
            stages.append(Stage(
                name=name, layer=L, kernel="lif_direct",
                params=dict(out_h=positions[0], out_w=positions[1], lanes=lanes, out_g=lanes,
                            groups=groups, timesteps=T, threshold=L["threshold"],
                            leak_shift=L["leak_shift"], trace_id=0),
                types=_widths(L, "current", "membrane"), args=[cur.name, st_out.name],
                comment=f"{name}: LIF over T timesteps, reusing the stored current",
                in_stream=cur, out_stream=st_out,
                memory_bits={"current": n * L["current_bits"], "membranes": n * L["membrane_bits"]}))
            streams.append(st_out)
            prev = st_out
            continue

        src = prev.spikes
        if kind == "conv":
            K, p = L["kernel"], L["padding"]
            oh, ow = L["out_shape"][1:]
            cpad = src.padded_channels
            arr = _pad_outputs(w, groups, lanes)                      # (Opad, C, K, K)
            arr = np.concatenate([arr, np.zeros((arr.shape[0], cpad - src.channels, K, K),
                                                arr.dtype)], axis=1)  # (Opad, Cpad, K, K)
            arr = arr.reshape(groups, lanes, cpad, K, K).transpose(2, 0, 3, 4, 1)
            bank_h, bank_w = math.ceil(oh / K), math.ceil(ow / K)
            out = SpikeMap(outs, oh, ow, lanes)
            st_out = _spike_stream(name, name, out, depth)
            stages.append(Stage(
                name=name, layer=L, kernel="conv_event",
                params=dict(in_g=src.slice, in_h=src.height, in_w=src.width, in_c_pad=cpad,
                            out_h=oh, out_w=ow, kernel=K, pad=p, lanes=lanes, out_g=lanes,
                            groups=groups, bank_h=bank_h, bank_w=bank_w, timesteps=T,
                            threshold=L["threshold"], leak_shift=L["leak_shift"], trace_id=0),
                types={**wtype, **_widths(L, "membrane")},
                args=[prev.name, st_out.name, wname],
                comment=f"{name}: spike-driven convolution + LIF ({K * K} taps x {lanes} lanes "
                        "of adders)",
                in_stream=prev, out_stream=st_out,
                weights=WeightArray(wname, f"{name}_weight_t", arr,
                                    "[input channel][group][ky][kx][lane]"),
                memory_bits={"membranes": K * K * groups * bank_h * bank_w * lanes
                             * L["membrane_bits"], "weights": arr.size * wb}))
            streams.append(st_out)
            prev = st_out
            continue

        # dense and readout: spike j of the flattened input adds column j
        arr = _pad_outputs(_dense_input_layout(w, src), groups, lanes)   # (Opad, n_in_pad)
        n_in_pad = arr.shape[1]
        arr = arr.reshape(groups, lanes, n_in_pad).transpose(2, 0, 1)
        warr = WeightArray(wname, f"{name}_weight_t", arr, "[input][group][lane]")
        common = dict(in_g=src.slice, in_h=src.height, in_w=src.width, n_in_pad=n_in_pad)
        if kind == "dense":
            out = SpikeMap(outs, 1, 1, lanes)
            st_out = _spike_stream(name, name, out, depth)
            stages.append(Stage(
                name=name, layer=L, kernel="dense_event",
                params=dict(**common, lanes=lanes, out_g=lanes, groups=groups, timesteps=T,
                            threshold=L["threshold"], leak_shift=L["leak_shift"], trace_id=0),
                types={**wtype, **_widths(L, "membrane")},
                args=[prev.name, st_out.name, wname],
                comment=f"{name}: spike-driven dense + LIF ({lanes} lanes of adders)",
                in_stream=prev, out_stream=st_out, weights=warr,
                memory_bits={"membranes": groups * lanes * L["membrane_bits"],
                             "weights": arr.size * wb}))
            streams.append(st_out)
            prev = st_out
        else:
            stages.append(Stage(
                name=name, layer=L, kernel="readout_event",
                params=dict(**common, classes=outs, lanes=lanes, groups=groups, timesteps=T),
                types={**wtype, **_widths(L, "acc")},
                args=[prev.name, "m_axis", wname],
                comment=f"{name}: spike-driven readout over T timesteps; class and accumulators "
                        "to m_axis",
                in_stream=prev, weights=warr,
                memory_bits={"accumulators": groups * lanes * L["acc_bits"],
                             "weights": arr.size * wb}))
            prev = None

    spike_streams = [s for s in streams if s.spikes is not None]
    if len(spike_streams) > TRACE_MAX_STREAMS:
        raise GeneratorError(f"model field 'layers': {len(spike_streams)} spike maps exceed the "
                             f"{TRACE_MAX_STREAMS} the C-sim trace supports")
    for k, s in enumerate(spike_streams):
        s.trace_id = k
    for st in stages:
        if "trace_id" in st.params:
            st.params["trace_id"] = st.out_stream.trace_id
    _check_memory(stages, settings)
    return Design(model=model, settings=hls_config.effective(settings, lanes_of), stages=stages,
                  streams=streams, lanes=lanes_of, in_shape=(in_c, in_h, in_w),
                  classes=model["output"]["classes"], timesteps=T)


def layer_memory_bits(stages) -> dict:
    """On-chip bits per IR layer (all its stages)."""
    out: dict = {}
    for st in stages:
        out[st.layer["name"]] = out.get(st.layer["name"], 0) + sum(st.memory_bits.values())
    return out


def _check_memory(stages, settings) -> None:
    budget = settings["layer_memory_kbits"] * 1000
    for i, (name, bits) in enumerate(layer_memory_bits(stages).items()):
        if bits > budget:
            parts = {k: v for st in stages if st.layer["name"] == name
                     for k, v in st.memory_bits.items()}
            detail = ", ".join(f"{k} {v / 1000:.1f}" for k, v in parts.items())
            raise GeneratorError(
                f"layer {name!r} field 'memory': needs {bits / 1000:.1f} kbit on chip ({detail}), "
                f"over the budget of {settings['layer_memory_kbits']:g} kbit "
                "(hls_config.layer_memory_kbits)")
