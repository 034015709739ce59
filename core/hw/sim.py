"""A token-level event simulation of a dataflow: processes joined by bounded FIFOs.

Each process is a generator that yields requests and resumes with their result:

    tok = yield Read(fifo)         blocking read: waits until the token is written and visible
    yield Write(fifo, tok, lag)    blocking write of a token `lag` cycles after the current
                                   cycle (a pipeline's output stage); waits for a free slot
    yield Wait(n)                  n cycles of work

Every event's cycle follows from the process's own clock and the recorded cycle of the one event
it depends on (the write of token k for its read; the read of token k - depth for a write), so
the result does not depend on the order in which processes are stepped: the engine runs one
process until it blocks on an event that has not happened yet, then another, until all finish.
FIFO semantics are those of the RTL's first-word-fall-through FIFOs: a token written in cycle c
can be read from cycle c + `latency`, and a slot freed by a read in cycle c can be written from
cycle c + 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Fifo:
    name: str
    depth: int
    latency: int = 2
    writes: list = field(default_factory=list)   # cycle of each write
    reads: list = field(default_factory=list)    # cycle of each read
    tokens: list = field(default_factory=list)

    def occupancy_peak(self) -> int:
        """Most tokens held at once (written and not yet read)."""
        events = [(c, 1) for c in self.writes] + [(c + 1, -1) for c in self.reads]
        n = peak = 0
        for _, d in sorted(events, key=lambda e: (e[0], e[1])):
            n += d
            peak = max(peak, n)
        return peak


@dataclass
class Read:
    fifo: Fifo


@dataclass
class Write:
    fifo: Fifo
    token: object
    lag: int = 0


@dataclass
class Wait:
    cycles: float


@dataclass
class Proc:
    name: str
    gen: object
    now: float = 0.0
    busy: float = 0.0          # cycles spent working (Wait)
    stall: float = 0.0         # cycles spent waiting for a FIFO (empty input or full output)
    pending: object = None     # the request it is blocked on
    done: bool = False


class DeadlockError(RuntimeError):
    pass


class Engine:
    def __init__(self):
        self.procs: list[Proc] = []

    def add(self, name: str, gen, start: float = 0.0) -> Proc:
        p = Proc(name, gen, now=start)
        self.procs.append(p)
        return p

    def _try(self, p: Proc, req):
        """Carry out `req` for p if the event it depends on has happened; (ok, value)."""
        if isinstance(req, Wait):
            p.now += req.cycles
            p.busy += req.cycles
            return True, None
        f = req.fifo
        if isinstance(req, Read):
            k = len(f.reads)
            if k >= len(f.writes):
                return False, None
            t = max(p.now, f.writes[k] + f.latency)
            p.stall += t - p.now
            p.now = t
            f.reads.append(t)
            return True, f.tokens[k]
        k = len(f.writes)                       # Write
        t = p.now + req.lag
        if k >= f.depth:
            if k - f.depth >= len(f.reads):
                return False, None
            free = f.reads[k - f.depth] + 1
            if free > t:
                p.stall += free - t
                p.now += free - t
                t = free
        f.writes.append(t)
        f.tokens.append(req.token)
        return True, None

    def _advance(self, p: Proc) -> bool:
        """Run p until it blocks or ends; True if it made progress."""
        progressed = False
        value = None
        while not p.done:
            if p.pending is None:
                try:
                    p.pending = p.gen.send(value)
                except StopIteration:
                    p.done = True
                    return True
            ok, value = self._try(p, p.pending)
            if not ok:
                return progressed
            p.pending = None
            progressed = True
        return progressed

    def run(self) -> None:
        for p in self.procs:            # prime the generators
            p.pending = next(p.gen, None)
            if p.pending is None:
                p.done = True
        while not all(p.done for p in self.procs):
            if not any([self._advance(p) for p in self.procs if not p.done]):
                blocked = {p.name: type(p.pending).__name__ + " " + p.pending.fifo.name
                           for p in self.procs if not p.done}
                raise DeadlockError(f"dataflow deadlock: {blocked}")
