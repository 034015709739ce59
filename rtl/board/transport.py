"""Byte transports to a board: a serial port (pyserial), or the simulated board (a Verilator
model of the same board top behind a pseudo-terminal, opened through the same serial code).

A Transport has write(data), read(n, timeout) -> up to n bytes (fewer when the timeout passes),
reset_input() and close(). `open_transport(port, ...)` picks one from the --port argument:
a device path (/dev/ttyUSB0, COM3) or any pyserial URL, `sim` (the run's network built into
a simulated board under build/board/sim) or `sim:PROJECT` (a board project folder, e.g. the
one `make bitstream` wrote, simulated with the PLL replaced by a pass-through).
"""
from __future__ import annotations

import time

from core.errors import FlowError


class BoardError(FlowError):
    """The board or its port: missing, unusable, not answering."""


class Transport:
    """The interface the runtime talks through."""

    name = "transport"

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, n: int, timeout: float) -> bytes:
        raise NotImplementedError

    def reset_input(self) -> None:
        """Drop bytes received but not read yet."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serial():
    try:
        import serial
    except ImportError as e:
        raise BoardError(f"pyserial is not importable ({e}): run `make setup` (or "
                         "`pip install pyserial==3.5`)") from e
    return serial


class SerialTransport(Transport):
    """A serial port through pyserial (8N1, no flow control)."""

    def __init__(self, port: str, baud: int):
        serial = _serial()
        self.name = port
        try:
            self.ser = serial.serial_for_url(port, baudrate=baud, bytesize=8, parity="N",
                                             stopbits=1, timeout=0, write_timeout=30,
                                             rtscts=False, dsrdtr=False, xonxoff=False)
        except (serial.SerialException, ValueError, OSError) as e:
            raise BoardError(f"cannot open serial port {port} at {baud} baud: {e}. Is the board "
                             "plugged in (a ULX3S shows up as /dev/ttyUSB*), and may you use "
                             "the port (group dialout)?") from e

    def write(self, data: bytes) -> None:
        serial = _serial()
        try:
            self.ser.write(data)
        except (serial.SerialException, OSError) as e:
            raise BoardError(f"{self.name}: write failed ({e})") from e

    def read(self, n: int, timeout: float) -> bytes:
        serial = _serial()
        out = bytearray()
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            while len(out) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.ser.timeout = min(left, 0.5)
                out += self.ser.read(n - len(out))
        except (serial.SerialException, OSError) as e:
            raise BoardError(f"{self.name}: read failed ({e})") from e
        return bytes(out)

    def reset_input(self) -> None:
        try:
            self.ser.reset_input_buffer()
        except Exception:  # noqa: BLE001 - a port that vanished fails on the next read
            pass

    def close(self) -> None:
        try:
            self.ser.close()
        except Exception:  # noqa: BLE001
            pass


def open_transport(port: str, baud: int, run=None, net=None, sim_options=None) -> Transport:
    """The transport named by --port (see the module docstring)."""
    if port == "sim" or port.startswith("sim:"):
        from rtl.board import sim
        return sim.open_sim(port[4:] or None, baud, run=run, net=net, **(sim_options or {}))
    return SerialTransport(port, baud)
