"""What an RTL spelling of a kernel kind says: the hand-written module of rtl/hdl that implements
it, that module's parameters, its weight ROM image and its port connections. The writer iterates
over the design's processes and asks each process's spelling; it names no kernel kind."""
from __future__ import annotations

import numpy as np

from core.hw.design import Process, index_bits
from core.hw.kernels import kernel

_SPELLINGS: dict = {}


def register(cls):
    """Class decorator: the spelling of kernel kind `cls.kind`, one per kind."""
    if cls.kind in _SPELLINGS:
        raise ValueError(f"two RTL spellings of kernel kind {cls.kind!r}")
    _SPELLINGS[cls.kind] = cls()
    return cls


def spelling(kind: str) -> RTLKernel:
    try:
        return _SPELLINGS[kind]
    except KeyError:
        raise ValueError(f"no RTL spelling of kernel kind {kind!r} (rtl/kernels/)") from None


def spelled_kinds() -> list[str]:
    return list(_SPELLINGS)


def weight_file(p: Process) -> str:
    return f"weights/{p.weights.name}.hex"


def map_bits(m) -> dict:
    return dict(YB=m.y_bits, XB=m.x_bits, GB=m.g_bits)


def field_bits(count: int) -> int:
    """Bits of an address field that counts `count` values: none when there is only one."""
    return 0 if count == 1 else index_bits(count)


def pack_words(words: np.ndarray, bits: int) -> list[int]:
    """(n, elements) signed ints -> n words, element e at bits [e*bits +: bits]."""
    mask = (1 << bits) - 1
    shifts = [e * bits for e in range(words.shape[1])]
    return [sum((int(v) & mask) << s for v, s in zip(row, shifts)) for row in words.tolist()]


def spike_maps(p: Process):
    """(the input spike map, the output spike map) of a process, None where not spikes."""
    def of(s):
        return s.spikes if s is not None and s.kind == "spikes" else None
    return of(p.in_stream), of(p.out_stream)


class RTLKernel:
    """The RTL spelling of one kernel kind (subclasses set `kind`, `module`, `params`)."""

    kind = ""
    module = ""
    in_port = "in"      # the module's input FIFO ports: <in_port>_{data,valid,ready}

    def params(self, p: Process) -> dict:
        """The module's parameters in declaration order (ints or strings)."""
        raise NotImplementedError

    def rom_words(self, p: Process) -> tuple[list[int], int]:
        """The weight ROM image: (words in address order, word bits), holes zero."""
        raise ValueError(f"{self.kind} has no weight ROM")

    def conns(self, p: Process, result: str) -> list:
        """Port connections: the input FIFO's read side, the output FIFO's write side (the
        FIFOs' signals are <stream>_{d,v,room,q,qv,qr}; `result` names the result FIFO)."""
        c = [("clk", "clk"), ("rst_n", "rst_n")]
        i, x = p.in_stream.name, self.in_port
        c += [(f"{x}_data", f"{i}_q"), (f"{x}_valid", f"{i}_qv"), (f"{x}_ready", f"{i}_qr")]
        if kernel(p.kernel).writes_result:
            f = p.flag_in.name
            c += [("flag_data", f"{f}_q"), ("flag_valid", f"{f}_qv"), ("flag_ready", f"{f}_qr"),
                  ("out_data", f"{result}_d"), ("out_valid", f"{result}_v"),
                  ("out_room", f"{result}_room")]
        else:
            o = p.out_stream.name
            c += [("tok_data", f"{o}_d"), ("tok_valid", f"{o}_v"), ("tok_room", f"{o}_room")]
        return c
