"""What an HLS spelling of a kernel kind says: the function of the kernel library
(hls/templates/firmware/snn_utils) that implements it, the arguments of its call by role, and
the constants and tables of its config struct. The writer iterates over the design's processes
and asks each process's spelling; it names no kernel kind."""
from __future__ import annotations

from core.hw.design import Process

_SPELLINGS: dict = {}


def register(cls):
    """Class decorator: the spelling of kernel kind `cls.kind`, one per kind."""
    if cls.kind in _SPELLINGS:
        raise ValueError(f"two HLS spellings of kernel kind {cls.kind!r}")
    _SPELLINGS[cls.kind] = cls()
    return cls


def spelling(kind: str) -> HLSKernel:
    try:
        return _SPELLINGS[kind]
    except KeyError:
        raise ValueError(f"no HLS spelling of kernel kind {kind!r} (hls/kernels/)") from None


def spelled_kinds() -> list[str]:
    return list(_SPELLINGS)


def table(name: str, values: list, bits: int) -> dict:
    """A constant table of the config struct (e.g. a divider replaced by a lookup)."""
    return dict(name=name, entries=", ".join(map(str, values)), n=len(values),
                ctype=f"ap_uint<{bits}>")


def in_spikes(p: Process):
    """The input spike map of a process, None when it reads no spikes."""
    return p.in_stream.spikes if p.in_stream is not None and p.in_stream.kind == "spikes" else None


class HLSKernel:
    """The HLS spelling of one kernel kind (subclasses set `kind` and `args`)."""

    kind = ""
    args: list = []     # the call's arguments by role: s_axis, m_axis, in, out, flag_in,
                        # flag_out, w (the weights)

    @property
    def function(self) -> str:
        """The library function the call names (snn::<function>)."""
        return self.kind

    def params(self, p: Process, design) -> tuple[dict, list]:
        """The config struct's constants (the design's numbers plus the HLS-only trace id and
        loop trip counts) and its constant tables."""
        params = dict(p.params)
        if p.out_stream is not None and p.out_stream.kind == "spikes":
            params["trace_id"] = p.out_stream.trace_id
        return params, []

    def call_args(self, p: Process) -> list[str]:
        roles = {"s_axis": "s_axis", "m_axis": "m_axis",
                 "in": p.in_stream.name if p.in_stream else None,
                 "out": p.out_stream.name if p.out_stream else None,
                 "flag_in": p.flag_in.name if p.flag_in else None,
                 "flag_out": p.flag_out.name if p.flag_out else None,
                 "w": p.weights.name if p.weights else None}
        return [roles[r] for r in self.args]


class ScatterKernel(HLSKernel):
    """A spike-driven kernel: its scatter loop's trip counts (worst case and at the settings'
    spike rate) go into the config for the synthesis report's latency estimate."""

    def params(self, p: Process, design) -> tuple[dict, list]:
        params, tables = super().params(p, design)
        src = in_spikes(p)
        rate = design.settings["spike_rate"]
        spikes_max = src.positions * src.padded_channels
        params["scatter_max"] = spikes_max * p.params["groups"] + 1
        params["scatter_avg"] = int(round(rate * src.neurons)) * p.params["groups"] + 1
        return params, tables
