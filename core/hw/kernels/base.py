"""What every kernel kind owns: its mapping onto a Process, its memories and its cycle behaviour.

One kernel kind, several backends (FINN's "one op, several backend variants"): hls/ spells a
Process as a call of snn::<kernel> configured by a struct, rtl/ as an instance of the
hand-written module snn_<kernel>; both follow the per-cycle behaviour stated here, which the
cycle model (core.hw.cycles) simulates and the RTL simulation measures.

Cycle conventions shared by the behaviours: one loop iteration per cycle (II = 1); an iteration
that produces a token writes it `pipe` cycles after it issues (the depth of the kernel's
pipeline: a RAM read, the RAM's output register, the update stages; each kind states its own);
a phase (scatter, fire pass, result) ends with its pipeline drained.
"""
from __future__ import annotations

import numpy as np

from core.hw.design import Process
from core.hw.sim import Read, Wait, Write

EOT = -1           # the end-of-timestep token in the cycle model (spike tokens: their popcount)
PIPE = 6           # the deepest kernel's issue-to-write cycles (FIFO depths are sized by it)
SETTLE = 2         # cycles from a scatter's last issue to the next phase (at_eot, SETTLE states)


class Kernel:
    """A kernel kind. Subclasses set `name` and `summary` and implement `behaviour`."""

    name = ""
    summary = ""
    pipe = PIPE                # cycles from an iteration's issue to its output write
    reads_input = False        # reads the AXI4-Stream input (s_axis)
    writes_result = False      # writes the AXI4-Stream output (m_axis)
    variant_of = None          # a kind this one can stand in for (same make() arguments and
                               # streams), chosen per layer: settings.layers.<name>.kernel

    def behaviour(self, p: Process, io, image):
        """Generator of one image's requests (core.hw.sim); `io` has the process's Fifos
        (io.inp, io.out, io.flag_in, io.flag_out, io.s_axis, io.m_axis) and `image` is the
        trace of that image: image.emits[stream][t] = the loop iterations of timestep t that
        produce a token on the stream, image.tokens[stream][t] = the tokens' popcounts."""
        raise NotImplementedError

    # what the cycle model's report asks of every kernel (core.hw.cycles.report)
    def work_bound(self, p: Process, design, traces) -> float:
        """Cycles of essential work per image over the process's parallel units, no overhead
        or stall: what its parallelism allows at best on these traces (ImageTrace list)."""
        return 0.0

    def units(self, p: Process) -> str:
        """Its parallel units, in words (latency.json)."""
        return f"{p.params.get('lanes', 1)} adders"

    # what the area model (core.hw.area) scales a kernel's logic by
    def parallel_units(self, p: Process) -> int:
        """Copies of its datapath working in the same cycle (adders, neuron lanes)."""
        return p.params.get("lanes", 1)

    def datapath_bits(self, p: Process) -> int:
        """Bits of logic the parallelism replicates: units x the widest register they hold."""
        return self.parallel_units(p) * max(p.widths.values(), default=1)

    def multipliers(self, p: Process) -> int:
        """Hardware multipliers (the first layer's only: spikes need adders)."""
        return 0

    def input_pool(self, p: Process) -> int:
        """The OR-pooling window side the process applies to its input stream (1: none);
        random traces fire a pooled map less so that its pooled output has the asked rate."""
        return 1

    # helpers for the behaviours
    @staticmethod
    def pass_with_emits(n: int, emits, tokens, out, first_read=None, pipe=PIPE):
        """An II=1 pass of n iterations that writes tokens at the given iterations.

        first_read, when given, is a Fifo read by every iteration (the first layer's LIF at
        timestep 0); otherwise iterations without output are merged into one Wait.
        """
        it = 0
        if first_read is not None:
            emit_set = dict(zip(emits, tokens))
            for i in range(n):
                yield Read(first_read)
                if i in emit_set:
                    yield Write(out, emit_set[i], pipe)
                yield Wait(1)
            return
        for i, tok in zip(emits, tokens):
            if i > it:
                yield Wait(i - it)
            yield Write(out, tok, pipe)
            yield Wait(1)
            it = i + 1
        if n > it:
            yield Wait(n - it)


def mean_spikes(p: Process, traces) -> tuple[float, float]:
    """(spikes, tokens) per image on the process's input stream, averaged over the traces."""
    s = p.in_stream.name
    spikes = float(np.mean([sum(sum(t) for t in tr.tokens[s]) for tr in traces]))
    toks = float(np.mean([sum(len(t) for t in tr.tokens[s]) for tr in traces]))
    return spikes, toks


def hw_threshold(layer) -> tuple[int, int]:
    """(threshold, bits of a register that holds it and the membrane) for the hardware.

    A threshold at or above 2^(membrane_bits - 1) can never be reached by the membrane, so it is
    clamped there: the neuron never fires either way, and the comparison stays membrane_bits + 1
    wide whatever the trained threshold was.
    """
    return min(layer.threshold, 1 << (layer.membrane_bits - 1)), layer.membrane_bits + 1


REGISTRY: dict[str, Kernel] = {}


def pad_outputs(w, groups: int, lanes: int):
    """Zero rows for the padded output channels (groups x lanes >= outputs): they never spike
    and never reach the output."""
    pad = groups * lanes - w.shape[0]
    return np.concatenate([w, np.zeros((pad, *w.shape[1:]), w.dtype)]) if pad else w


def register(cls):
    REGISTRY[cls.name] = cls()
    return cls


def kernel(name: str) -> Kernel:
    return REGISTRY[name]
