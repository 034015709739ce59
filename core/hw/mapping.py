"""IR -> Design: choose a kernel for every layer, wire the streams, size the FIFOs, check budgets.

The rules (first weight layer: its current once per image, then LIF or the readout; later
layers: event-driven kernels; pools: OR pooling) live here; what each kernel kind needs (its
parameters, weight layout, memories, cycles) lives with the kernel in core.hw.kernels. Every
network or setting that cannot be mapped raises GeneratorError here, before any backend writes
a file.
"""
from __future__ import annotations

from core.errors import GeneratorError, IRError
from core.hw import config as hw_config
from core.hw import folding
from core.hw.design import Design, SpikeMap, Stream
from core.hw.kernels import PIPE, REGISTRY, kernel
from core.network import Network

MAX_BITS = 32        # registers wider than this are not supported (the output words are 32-bit)
FLAG_DEPTH = 4       # malformed-frame flags in flight between the input and the result process
MIN_DEPTH = PIPE + 2  # the smallest FIFO a kernel writing PIPE cycles after it issues can use


def _fail(L, fld: str, msg: str):
    raise GeneratorError(f"layer {L.name!r} (layers[{L.index}]) field {fld!r}: {msg}")


def check_mappable(net: Network) -> None:
    """Hardware limits beyond the IR's own validation."""
    for L in net.layers:
        if L.kind == "conv" and L.kernel - 1 > 2 * L.padding + min(L.in_shape[1:]):
            _fail(L, "kernel", "kernel larger than the padded input")
        for fld in ("current_bits", "membrane_bits", "acc_bits"):
            bits = getattr(L, fld, 0)
            if bits > MAX_BITS:
                _fail(L, fld, f"{bits} bits exceeds the {MAX_BITS} the kernels support "
                              "(use fewer weight bits, fewer timesteps or a smaller layer)")


def as_network(net_or_model, weights=None) -> Network:
    """A Network from a Network or from (model.json dict, weights), IR errors as GeneratorError."""
    if isinstance(net_or_model, Network):
        return net_or_model
    model = net_or_model
    if isinstance(model, dict) and isinstance(model.get("layers"), list):
        for i, L in enumerate(model["layers"]):  # a kind no backend knows: name the layer
            kind = L.get("kind") if isinstance(L, dict) else None
            if kind not in ("conv", "dense", "pool", "readout"):
                name = L.get("name", f"layers[{i}]") if isinstance(L, dict) else f"layers[{i}]"
                raise GeneratorError(f"layer {name!r} (layers[{i}]) field 'kind': cannot map "
                                     f"layer kind {kind!r} to hardware (mapped kinds: conv, "
                                     "dense, pool, readout)")
    try:
        return Network(model, weights)
    except IRError as e:
        raise GeneratorError(f"invalid IR: {e}") from e


def _spike_stream(name, producer, layer, smap: SpikeMap, depth_setting) -> Stream:
    worst = smap.max_tokens_per_timestep
    # at least room for a producer's in-flight writes (PIPE + 1) and one more, so a tiny map
    # (a dense layer of one group) still streams at one token per cycle
    depth = max(worst, MIN_DEPTH) if depth_setting == "auto" else depth_setting
    return Stream(name=f"{name}_spikes", kind="spikes", producer=producer, consumer="",
                  layer=layer, word_bits=smap.token_bits, depth=depth, worst_tokens=worst,
                  spikes=smap)


def build(net, settings: dict, weights=None) -> Design:
    """Map a Network (or a model.json dict with its weights) onto kernel processes."""
    net = as_network(net, weights)
    check_mappable(net)
    hw_config.check_layer_names(settings, net)
    T = net.timesteps
    depth = settings["fifo_depth"]
    processes, streams, lanes_of, variants, taps_of = [], [], {}, {}, {}
    prev: Stream | None = None
    flag = None

    def pick(L, default: str):
        """The layer's kernel kind: the default or the variant its settings name."""
        k = hw_config.layer_kernel(settings, L, default, REGISTRY)
        if k != default:
            variants[L.name] = k
        return kernel(k)

    def add(p):
        processes.append(p)
        if p.in_stream is not None:
            p.in_stream.consumer = p.name
        return p

    for L in net.layers:
        if not L.name.isidentifier():
            _fail(L, "name", f"{L.name!r} is not an identifier")
        if L.kind == "pool":
            src = prev.spikes
            out = SpikeMap(src.channels, src.height // L.size, src.width // L.size, src.slice)
            st = _spike_stream(L.name, L.name, L.name, out, depth)
            add(pick(L, "pool_or").make(L, src, out, T, prev, st))
            streams.append(st)
            prev = st
            continue

        lanes = hw_config.layer_lanes(settings, L)
        lanes_of[L.name] = lanes
        taps_of[L.name] = hw_config.layer_taps(settings, L)
        groups = -(-L.outputs // lanes)
        if L.first:
            # direct input: the current once per image (multipliers), then LIF or the readout
            positions = tuple(L.out_shape[1:]) if L.kind == "conv" else (1, 1)
            n_vec = positions[0] * positions[1] * groups
            # a whole image of current, so that the next image's overlaps the LIF timesteps;
            # never below the smallest FIFO a pipelined writer can use (a dense first layer of
            # one or two lane groups)
            cur = Stream(name=f"{L.name}_current", kind="current", producer=f"{L.name}_current",
                         consumer="", layer=L.name, word_bits=lanes * L.current_bits,
                         depth=max(n_vec, MIN_DEPTH), worst_tokens=n_vec, lanes=lanes,
                         elem_bits=L.current_bits)
            flag = Stream(name="frame_error", kind="flag", producer=f"{L.name}_current",
                          consumer="", layer=L.name, word_bits=1, depth=FLAG_DEPTH,
                          worst_tokens=1)
            streams += [cur, flag]
            k = "conv_direct_current" if L.kind == "conv" else "dense_direct_current"
            add(kernel(k).make(L, lanes, cur, flag, taps_of[L.name]))   # the frame reader
            if L.kind == "readout":
                p = add(pick(L, "readout_direct").make(L, lanes, T, cur, flag))
                flag.consumer = p.name
                prev = None
                continue
            st = _spike_stream(L.name, L.name, L.name, SpikeMap(L.outputs, *positions, lanes),
                               depth)
            add(pick(L, "lif_direct").make(L, lanes, positions, T, cur, st))
            streams.append(st)
            prev = st
            continue

        src = prev.spikes
        if L.kind == "conv":
            oh, ow = L.out_shape[1:]
            st = _spike_stream(L.name, L.name, L.name, SpikeMap(L.outputs, oh, ow, lanes), depth)
            add(pick(L, "conv_event").make(L, lanes, src, T, prev, st))
        elif L.kind == "dense":
            st = _spike_stream(L.name, L.name, L.name, SpikeMap(L.outputs, 1, 1, lanes), depth)
            add(pick(L, "dense_event").make(L, lanes, src, T, prev, st))
        else:
            p = add(pick(L, "readout_event").make(L, lanes, src, T, prev, flag))
            flag.consumer = p.name
            prev = None
            continue
        streams.append(st)
        prev = st

    for k, s in enumerate(s for s in streams if s.kind == "spikes"):
        s.trace_id = k
    design = Design(network=net, settings=hw_config.effective(settings, lanes_of, variants, taps_of),
                    processes=processes, streams=streams)
    _check_memory(design, settings)
    return design


def _check_memory(design: Design, settings) -> None:
    budget = settings["layer_memory_kbits"] * 1000
    for name, bits in design.memory_bits_per_layer().items():
        if bits > budget:
            parts = {f"{p.name} {m.name}": m.bits for p in design.processes
                     if p.layer.name == name for m in p.memories}
            parts.update({f"FIFO {s.name}": s.depth * s.word_bits for s in design.streams
                          if s.layer == name})
            detail = ", ".join(f"{k} {v / 1000:.1f}" for k, v in parts.items())
            raise GeneratorError(
                f"layer {name!r} field 'memory': needs {bits / 1000:.1f} kbit on chip ({detail}), "
                f"over the budget of {settings['layer_memory_kbits']:g} kbit "
                "(settings.layer_memory_kbits)")


def design_of(net, config=None, overrides: dict | None = None, weights=None,
              codes=None) -> Design:
    """Load the settings (file and/or overrides) and map: what every backend calls first.
    With a latency or interval target in the settings the lanes are folded to it first
    (core.hw.folding; `codes`: the images whose spike traces the cycle model runs on)."""
    net = as_network(net, weights)
    settings = hw_config.load(config, overrides)
    if not folding.targets(settings):
        return build(net, settings)
    hw_config.check_layer_names(settings, net)
    f = folding.fold(net, settings, lambda s: build(net, s), codes)
    for name, n in f.lanes.items():
        settings["layers"].setdefault(name, {})["lanes"] = n
    for name, n in f.taps.items():
        settings["layers"][name]["taps"] = n
    design = build(net, settings)
    design.folding = f.to_json()
    return design
