"""The target-neutral hardware design: processes, streams, weight arrays and memories, in numbers.

A Design is what every backend spells in its own language: the HLS writer turns it into
`ap_int<N>` types, config structs and `hls::stream`s; the RTL writer into module parameters,
FIFO instances and $readmemh files; the cycle model simulates it. Nothing here is C++ or Verilog.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def index_bits(n: int) -> int:
    """Bits of an unsigned index 0..n-1 (at least 1: a zero-width field does not exist)."""
    return max(1, (n - 1).bit_length())


@dataclass(frozen=True)
class SpikeMap:
    """A [channels, height, width] spike map sent one timestep at a time as slices of `slice`
    channels: a token is (mask of `slice` bits, y, x, group), or the end-of-timestep token."""

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

    @property
    def positions(self) -> int:
        return self.height * self.width

    def slice_sizes(self) -> list[int]:
        """Real (unpadded) channels in each group's slice."""
        return [min(self.slice, self.channels - g * self.slice) for g in range(self.groups)]

    @property
    def y_bits(self) -> int:
        return index_bits(self.height)

    @property
    def x_bits(self) -> int:
        return index_bits(self.width)

    @property
    def g_bits(self) -> int:
        return index_bits(self.groups)

    @property
    def token_bits(self) -> int:
        """mask + y + x + group + end-of-timestep flag."""
        return self.slice + self.y_bits + self.x_bits + self.g_bits + 1

    @property
    def max_tokens_per_timestep(self) -> int:
        """Every slice non-empty, plus the end-of-timestep token."""
        return self.positions * self.groups + 1


@dataclass
class Stream:
    """A FIFO between two processes.

    kind "spikes": slices of a SpikeMap, one timestep after another;
    kind "current": the first layer's current, one vector of `lanes` values per slice, once
                    per image (elem_bits each);
    kind "flag": one word per image from the input process to the result process (the
                 malformed-frame flag).
    """

    name: str
    kind: str
    producer: str
    consumer: str
    layer: str                 # the IR layer whose output it carries
    word_bits: int
    depth: int
    worst_tokens: int          # per timestep (spikes) or per image (current, flag)
    spikes: SpikeMap | None = None
    lanes: int = 0
    elem_bits: int = 0
    trace_id: int | None = None


@dataclass
class WeightArray:
    """A weight layer's integers in the layout its kernel reads.

    `dims` names the axes of `values`; the last `word_dims` axes are read together in one cycle
    (one memory word: a RAM/ROM address in RTL, a partitioned array in HLS); the leading axes
    form the address, in order.
    """

    name: str
    values: np.ndarray
    dims: tuple
    word_dims: int
    bits: int                  # signed weight width

    @property
    def address_shape(self) -> tuple:
        return self.values.shape[:self.values.ndim - self.word_dims]

    @property
    def word_shape(self) -> tuple:
        return self.values.shape[self.values.ndim - self.word_dims:]

    @property
    def words(self) -> int:
        return int(np.prod(self.address_shape))

    @property
    def word_bits(self) -> int:
        return int(np.prod(self.word_shape)) * self.bits


@dataclass(frozen=True)
class Memory:
    """On-chip storage of a process: `words` x `width` bits (ram: read-write, rom: weights,
    fifo: a stream's buffer); lutram: the kernel puts it in distributed (LUT) RAM, so it takes
    no block RAM."""

    name: str
    kind: str
    words: int
    width: int
    lutram: bool = False

    @property
    def bits(self) -> int:
        return self.words * self.width


@dataclass
class Process:
    """One dataflow process: an instance of a registered kernel (core.hw.kernels)."""

    name: str
    kernel: str
    layer: object              # core.network layer it implements (part of)
    params: dict               # integer parameters, in print order
    widths: dict               # register widths: current_bits, membrane_bits, acc_bits, ...
    comment: str
    in_stream: Stream | None = None
    out_stream: Stream | None = None
    weights: WeightArray | None = None
    memories: list = field(default_factory=list)
    flag_in: Stream | None = None   # the malformed-frame flag: written by the input process,
    flag_out: Stream | None = None  # read by the result process

    @property
    def memory_bits(self) -> int:
        return sum(m.bits for m in self.memories)


@dataclass
class Design:
    """Everything a backend or the cycle model needs about the mapped network."""

    network: object            # core.network.Network
    settings: dict             # effective settings (every weight layer's lanes filled in)
    processes: list
    streams: list
    folding: dict | None = None  # how the lanes were chosen for a target (core.hw.folding)

    @property
    def timesteps(self) -> int:
        return self.network.timesteps

    @property
    def in_shape(self) -> tuple:
        return self.network.in_shape

    @property
    def classes(self) -> int:
        return self.network.classes

    @property
    def n_inputs(self) -> int:
        return self.network.n_inputs

    @property
    def lanes(self) -> dict:
        return {name: knobs["lanes"] for name, knobs in self.settings["layers"].items()
                if "lanes" in knobs}

    @property
    def spike_streams(self) -> list:
        return [s for s in self.streams if s.kind == "spikes"]

    @property
    def weight_arrays(self) -> list:
        return [p.weights for p in self.processes if p.weights is not None]

    def process(self, name: str) -> Process:
        for p in self.processes:
            if p.name == name:
                return p
        raise KeyError(name)

    def memory_bits_per_layer(self, lutram: bool = True) -> dict:
        """On-chip bits per IR layer: its processes' memories and the FIFOs they write
        (lutram=False: without the memories its kernels put in LUT RAM, i.e. the bits block
        RAM holds, which synthesis reports set against the block RAM allocated)."""
        out: dict = {}
        for p in self.processes:
            bits = sum(m.bits for m in p.memories if lutram or not m.lutram)
            out[p.layer.name] = out.get(p.layer.name, 0) + bits
        for s in self.streams:
            out[s.layer] = out.get(s.layer, 0) + s.depth * s.word_bits
        return out
