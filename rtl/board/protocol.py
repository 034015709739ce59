"""The UART framing between the host and the board bridge (rtl/hdl/board/board_bridge.sv).

Host -> board, one request per image:

    0xA5, SEQ, LEN (2 bytes, little-endian, = n_inputs), LEN code bytes, CRC

Board -> host, exactly one reply per request whose header arrived, in request order:

    0x5A, SEQ, STATUS, (classes + 1) x 4 bytes (32-bit words, little-endian), CRC

The words are the network's class word (bit 31 = malformed frame) and its accumulators (two's
complement), or zeros when STATUS bit 0 says the request was refused. CRC-8 with polynomial
0x07 (x^8 + x^2 + x + 1), initial value 0, MSB first, no final XOR, over every byte after the
sync byte up to the CRC. STATUS: bit 0 refused (nothing reached the network), bits 6..4 why
(CAUSES), bit 1 the network flagged the frame malformed, bit 7 the bridge dropped bytes outside
any request (noise, a bad header) since its previous reply.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

SYNC_REQUEST = 0xA5
SYNC_REPLY = 0x5A
STATUS_REFUSED = 0x01
STATUS_MALFORMED = 0x02
STATUS_DROPPED = 0x80
CAUSES = {0: "none", 1: "checksum", 2: "inter-byte timeout", 3: "frame buffer full",
          4: "stop-bit error"}


def _crc_table() -> list[int]:
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc8(data: bytes, crc: int = 0) -> int:
    """CRC-8 (polynomial 0x07, initial 0, MSB first, no final XOR) of `data`."""
    t = CRC_TABLE
    for b in data:
        crc = t[crc ^ b]
    return crc


def request_bytes(n_inputs: int) -> int:
    return 5 + n_inputs


def reply_bytes(classes: int) -> int:
    return 4 + 4 * (classes + 1)


def encode_request(seq: int, codes) -> bytes:
    """The request frame of one image (its codes, C-order, uint8)."""
    codes = np.asarray(codes, np.uint8).reshape(-1)
    if not 1 <= codes.size <= 0xFFFF:
        raise ValueError(f"an image has 1..65535 codes, got {codes.size}")
    body = struct.pack("<BH", seq & 0xFF, codes.size) + codes.tobytes()
    return bytes([SYNC_REQUEST]) + body + bytes([crc8(body)])


def encode_reply(seq: int, status: int, words) -> bytes:
    """A reply frame as the board sends it (for tests and for documentation)."""
    body = bytes([seq & 0xFF, status & 0xFF]) + b"".join(
        struct.pack("<I", int(w) & 0xFFFFFFFF) for w in words)
    return bytes([SYNC_REPLY]) + body + bytes([crc8(body)])


@dataclass
class Reply:
    seq: int
    status: int
    words: np.ndarray            # (classes + 1,) uint32

    @property
    def refused(self) -> bool:
        return bool(self.status & STATUS_REFUSED)

    @property
    def cause(self) -> str:
        return CAUSES.get((self.status >> 4) & 7, f"cause {(self.status >> 4) & 7}")

    @property
    def malformed(self) -> bool:
        return bool(self.status & STATUS_MALFORMED)

    @property
    def dropped_before(self) -> bool:
        return bool(self.status & STATUS_DROPPED)


@dataclass
class Garbled:
    """A reply-sized run of bytes after a sync byte whose CRC is wrong (or cut short)."""
    data: bytes
    reason: str


def decode_reply(frame: bytes, classes: int) -> Reply | Garbled:
    """A whole reply frame (starting with the sync byte) -> Reply, or Garbled on a bad CRC."""
    n = reply_bytes(classes)
    if len(frame) != n or frame[0] != SYNC_REPLY:
        return Garbled(bytes(frame), f"{len(frame)} of {n} bytes")
    body = frame[1:-1]
    if crc8(body) != frame[-1]:
        return Garbled(bytes(frame), f"CRC {frame[-1]:#04x}, computed {crc8(body):#04x}")
    words = np.frombuffer(body[2:], dtype="<u4").astype(np.uint32)
    return Reply(seq=body[0], status=body[1], words=words)


class ReplyReader:
    """Replies out of a transport's byte stream: hunts for the sync byte, takes a reply's
    worth of bytes, checks the CRC. Bytes before a sync byte are counted as skipped; a frame
    with a bad CRC is returned as Garbled and hunting restarts at the byte after its sync
    byte (so a reply that starts inside a garbled one is still found)."""

    def __init__(self, transport, classes: int):
        self.t = transport
        self.classes = classes
        self.size = reply_bytes(classes)
        self.buf = bytearray()
        self.skipped = 0

    def next(self, timeout: float):
        """The next Reply or Garbled, or None when `timeout` seconds pass without a whole
        reply (the bytes so far stay buffered)."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(SYNC_REPLY)
            if i < 0:
                self.skipped += len(self.buf)
                self.buf.clear()
            elif i > 0:
                self.skipped += i
                del self.buf[:i]
            if len(self.buf) >= self.size:
                out = decode_reply(bytes(self.buf[:self.size]), self.classes)
                if isinstance(out, Reply):
                    del self.buf[:self.size]
                else:
                    del self.buf[:1]              # resync: look for the next sync byte
                return out
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.buf += self.t.read(self.size - len(self.buf), left)

    def clear(self) -> None:
        self.skipped += len(self.buf)
        self.buf.clear()
