"""Run a run's test vectors on the board (a ULX3S over its USB-UART, or the simulated board) and
compare every class word and accumulator with the golden model.

Usage: python -m rtl.board [RUN] --port PORT [--n N] [--attack none|fgsm|pgd|SET]
                           [--baud 3000000] [--timeout S] [--window W] [--report FILE]

PORT: a serial device (/dev/ttyUSB0 for a ULX3S) or pyserial URL; `sim` simulates the board
top built for the run's network (Verilator, build/board/sim-*); `sim:PROJECT` simulates a board
project folder (e.g. build/board/ulx3s-85f from `make bitstream`) with its PLL replaced by a
pass-through. The framing is rtl.board.protocol's (docs/BOARD.md). Up to --window requests (1..4,
default 2) are in flight; each reply is matched to its request by sequence
number, so a refused request, a reply that never comes (--timeout seconds) or a garbled one
costs that image only: it counts as a mismatch, never as a pass, and the stream goes on.

Prints the mismatching images (a table), a summary, and last one JSON object (images,
mismatches, bit_exact, accuracy, images_per_second, bytes_per_image, errors, ...), also written
atomically to --report (default RUN/board_report.json).
Exit status: 0 every image bit-exact, 1 any mismatch or missing or refused reply, 2 an error
(no such run or port, a board that does not answer).
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.compare import BackendRun, Golden, golden_outputs
from core.compare import compare as core_compare
from core.atomic import atomic_file
from core.errors import EXIT_MISMATCH, EXIT_OK, cli, run_cli
from core.frames import FRAME_ERROR
from core.runs import add_vector_arguments, check_count, load_network, load_vectors, run_folder
from rtl.board import protocol
from rtl.board.protocol import Garbled, ReplyReader
from rtl.board.project import DEFAULT_BAUD
from rtl.board.transport import BoardError, open_transport

DEFAULT_TIMEOUT = 2.0
DEFAULT_WINDOW = 2
MAX_WINDOW = 4            # the bridge's reply queue (board_bridge REPLIES)
MAX_SILENT = 3            # consecutive timeouts after which the board counts as gone
TABLE_ROWS = 20


@dataclass
class Stream:
    """What came back for each image: its words, or why not."""
    words: list                              # per image: (classes + 1,) uint32, or None
    reasons: list                            # per image: None, or why there are no words
    counts: dict = field(default_factory=lambda: collections.Counter())
    seconds: float = 0.0
    skipped_bytes: int = 0


def stream(transport, codes: np.ndarray, classes: int, timeout: float = DEFAULT_TIMEOUT,
           window: int = DEFAULT_WINDOW, progress: bool = False, port: str = "") -> Stream:
    """Send every image's request (at most `window` unanswered) and collect the replies.

    Raises BoardError when the first request gets no reply, or MAX_SILENT in a row get none.
    """
    from tqdm import tqdm
    if not 1 <= window <= MAX_WINDOW:
        raise ValueError(f"window must be 1..{MAX_WINDOW}, got {window}")
    n = len(codes)
    out = Stream(words=[None] * n, reasons=[None] * n)
    c = out.counts
    reader = ReplyReader(transport, classes)
    flat = np.asarray(codes, np.uint8).reshape(n, -1)
    pending: collections.deque = collections.deque()
    nxt, answered, silent = 0, False, 0
    bar = tqdm(total=n, unit="img", disable=not progress, file=sys.stderr, leave=False)
    transport.reset_input()                           # stale bytes of an earlier session
    t0 = time.perf_counter()
    try:
        while nxt < n or pending:
            while nxt < n and len(pending) < window:
                transport.write(protocol.encode_request(nxt & 0xFF, flat[nxt]))
                pending.append(nxt)
                nxt += 1
            r = reader.next(timeout)
            if r is None:
                i = pending.popleft()
                out.reasons[i] = f"no reply within {timeout:g} s"
                c["timeouts"] += 1
                silent += 1
                bar.update(1)
                if not answered:
                    raise BoardError(
                        f"{port or transport.name}: no reply to the first request within "
                        f"{timeout:g} s ({reader.skipped + len(reader.buf)} bytes received, "
                        f"{c['garbled_replies']} garbled replies, {c['unexpected_replies']} "
                        "with an unknown sequence number): is the bitstream loaded (make "
                        "bitstream; openFPGALoader -b ulx3s ...), the port the board's, and "
                        "the baud rate the bitstream's?")
                if silent >= MAX_SILENT:
                    raise BoardError(f"{port or transport.name}: the board stopped answering "
                                     f"({silent} requests in a row without a valid reply within "
                                     f"{timeout:g} s after {c['replies'] + c['refused']} "
                                     f"answered; {c['garbled_replies']} garbled replies so far)")
                continue
            if isinstance(r, Garbled):
                c["garbled_replies"] += 1
                continue
            seqs = [i & 0xFF for i in pending]
            if r.seq not in seqs:
                c["unexpected_replies"] += 1          # a late reply to a request given up on
                continue
            answered, silent = True, 0
            for _ in range(seqs.index(r.seq)):        # requests whose replies never came
                i = pending.popleft()
                out.reasons[i] = "no reply (a later request's reply came first)"
                c["missing_replies"] += 1
                bar.update(1)
            i = pending.popleft()
            bar.update(1)
            if r.dropped_before:
                c["dropped_flags"] += 1
            if r.refused:
                out.reasons[i] = f"refused by the board: {r.cause} (status {r.status:#04x})"
                c["refused"] += 1
                continue
            out.words[i] = r.words
            c["replies"] += 1
    finally:
        bar.close()
        out.seconds = time.perf_counter() - t0
        out.skipped_bytes = reader.skipped
    return out


def compare(st: Stream, net, codes: np.ndarray, g: Golden, labels: np.ndarray) -> dict:
    """Per image: bit-exact or not (core.compare on the answered images; an image without a
    reply is a mismatch), the board's class word (or -1), and why it differs."""
    n = len(codes)
    bad = np.ones(n, bool)
    cls = np.full(n, -1, np.int64)
    why = list(st.reasons)
    got = [i for i, w in enumerate(st.words) if w is not None]
    if got:
        run = BackendRun.from_words(np.stack([np.asarray(st.words[i]) for i in got]))
        sub = Golden(acc=g.acc[got], pred=g.pred[got], tokens=None)
        cmp = core_compare(net, codes[got], run, golden_result=sub)
        for j, i in enumerate(got):
            cls[i] = run.pred[j] | (FRAME_ERROR if run.error[j] else 0)
            bad[i] = cmp.mismatched[j]
            a = run.acc[j]
            if run.error[j]:
                why[i] = "the network flagged the frame malformed (class word bit 31)"
            elif run.pred[j] != g.pred[i]:
                why[i] = f"class {run.pred[j]}, golden {g.pred[i]}"
            elif (a != g.acc[i]).any():
                k = int(np.flatnonzero(a != g.acc[i])[0])
                why[i] = f"accumulator {k}: {a[k]}, golden {g.acc[i][k]}"
    return {"bad": bad, "cls": cls, "why": why,
            "accuracy": float(((cls & ~FRAME_ERROR) == labels)[cls >= 0].sum() / n)}


def table(cmp: dict, acc, pred, labels, rows: int = TABLE_ROWS) -> str:
    idx = np.flatnonzero(cmp["bad"])
    if not idx.size:
        return "every image bit-exact (class word and accumulators)"
    lines = [f"{'image':>6} {'label':>5} {'golden':>6} {'board':>6}  difference"]
    for i in idx[:rows]:
        board = "-" if cmp["cls"][i] < 0 else f"{cmp['cls'][i]:#x}" if cmp["cls"][i] > 99 \
            else str(cmp["cls"][i])
        lines.append(f"{i:>6} {labels[i]:>5} {pred[i]:>6} {board:>6}  {cmp['why'][i]}")
    if idx.size > rows:
        lines.append(f"... and {idx.size - rows} more")
    return "\n".join(lines)


def run_board(run, port: str, n=None, attack: str = "none", baud: int = DEFAULT_BAUD,
              timeout: float = DEFAULT_TIMEOUT, window: int = DEFAULT_WINDOW, report=None,
              progress: bool = False, transport=None, sim_options: dict | None = None,
              log=print) -> dict:
    """Stream the run's images through the board; the report (see the module docstring).
    `transport`, when given, is used instead of opening `port` (and is closed here)."""
    run = run_folder(run)
    net = load_network(run)
    codes, labels = load_vectors(run, attack, n, net.in_shape)
    g = golden_outputs(net, codes)
    acc, pred = g.acc, g.pred
    t = transport or open_transport(port, baud, run=run, net=net, sim_options=sim_options)
    try:
        st = stream(t, codes, net.classes, timeout, window, progress, port)
    finally:
        t.close()
    cmp = compare(st, net, codes, g, labels)
    log(table(cmp, acc, pred, labels))
    req, rep = protocol.request_bytes(net.n_inputs), protocol.reply_bytes(net.classes)
    images = len(codes)
    errors = {k: int(st.counts.get(k, 0)) for k in
              ("refused", "timeouts", "missing_replies", "garbled_replies",
               "unexpected_replies", "dropped_flags")}
    rep_json = {
        "run": str(run), "port": port, "attack": attack, "images": images,
        "replies": int(st.counts.get("replies", 0)),
        "mismatches": int(cmp["bad"].sum()), "bit_exact": bool(not cmp["bad"].any()),
        "mismatched_images": [int(i) for i in np.flatnonzero(cmp["bad"])[:100]],
        "errors": errors, "skipped_bytes": st.skipped_bytes,
        "accuracy": round(cmp["accuracy"], 4),
        "golden_accuracy": round(float((pred == labels).mean()), 4),
        "seconds": round(st.seconds, 3),
        "images_per_second": round(images / st.seconds, 2) if st.seconds > 0 else None,
        "request_bytes": req, "reply_bytes": rep, "bytes_per_image": req + rep,
        "line_limit_images_per_second": round(baud / 10 / req, 1),
        "baud": baud, "timeout_s": timeout, "window": window,
        "network": net.summary(),
    }
    stats = getattr(t, "stats", None)
    if stats:
        rep_json["simulation"] = stats
    log(f"{images} images, {rep_json['replies']} replies, {rep_json['mismatches']} mismatches; "
        f"accuracy {100 * rep_json['accuracy']:.2f} % (golden "
        f"{100 * rep_json['golden_accuracy']:.2f} %); {rep_json['images_per_second']} images/s, "
        f"{req} + {rep} bytes per image at {baud} baud"
        + (f"; errors {', '.join(f'{k} {v}' for k, v in errors.items() if v)}"
           if any(errors.values()) else ""))
    out = Path(report) if report else run / "board_report.json"
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(rep_json, indent=2, sort_keys=True) + "\n")
    return rep_json


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl.board", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_vector_arguments(ap, "ir/ and vectors.npz")
    ap.add_argument("--port", required=True,
                    help="serial port (/dev/ttyUSB0), `sim` or `sim:PROJECT` (simulated board)")
    ap.add_argument("--baud", type=int, default=DEFAULT_BAUD,
                    help=f"baud rate, the bitstream's (default {DEFAULT_BAUD})")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                    help=f"seconds to wait for a reply (default {DEFAULT_TIMEOUT:g})")
    ap.add_argument("--window", type=int, default=DEFAULT_WINDOW,
                    help=f"requests in flight, 1..{MAX_WINDOW} (the board's reply queue; "
                         f"default {DEFAULT_WINDOW})")
    ap.add_argument("--report", help="report file (default RUN/board_report.json)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--sim-timeout-us", type=int, default=None,
                    help="--port sim: the bridge's inter-byte timeout (default 10000 us)")
    ap.add_argument("--sim-skew-ppm", type=float, default=0.0,
                    help="--port sim: the simulated host's baud-rate error in ppm")
    a = ap.parse_args(argv)
    check_count(ap, a.n)
    if a.timeout <= 0:
        ap.error("--timeout must be > 0")
    if not 1 <= a.window <= MAX_WINDOW:
        ap.error(f"--window must be 1..{MAX_WINDOW}")
    rep = run_board(a.run, a.port, a.n, a.attack, a.baud, a.timeout, a.window, a.report,
                    progress=not a.no_progress,
                    sim_options={"timeout_us": a.sim_timeout_us, "skew_ppm": a.sim_skew_ppm},
                    log=lambda m: print(m, flush=True))
    print(json.dumps(rep, sort_keys=True))
    return EXIT_OK if rep["bit_exact"] else EXIT_MISMATCH


if __name__ == "__main__":
    run_cli(main)
