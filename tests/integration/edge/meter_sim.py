"""A DL/T 645 meter behind a serial-to-TCP converter, for the driver's tests. Frames are built
by hand (own checksum and +0x33 code), so the tests do not trust the codec they check."""

from __future__ import annotations

import contextlib
import socketserver
from typing import Any

METER = "202611200001"
ADDRESS_BYTES = bytes([0x01, 0x00, 0x20, 0x11, 0x26, 0x20])  # 202611200001, low byte first


def frame(control: int, data: bytes, corrupt: bool = False) -> bytes:
    body = b"\x68" + ADDRESS_BYTES + bytes([0x68, control, len(data)])
    body += bytes((b + 0x33) & 0xFF for b in data)
    cs = sum(body) & 0xFF
    return b"\xfe\xfe" + body + bytes([(cs + 1) & 0xFF if corrupt else cs, 0x16])


class MeterBase(socketserver.BaseRequestHandler):
    """Cuts requests out of the stream; `answer` gives the bytes to send back."""

    def handle(self) -> None:
        # The driver hangs up after a refused reply: not an error of the meter.
        with contextlib.suppress(ConnectionError):
            self._serve()

    def _serve(self) -> None:
        buf = b""
        while True:
            chunk = self.request.recv(256)
            if not chunk:
                return
            buf = (buf + chunk).lstrip(b"\xfe")
            while len(buf) >= 12 and len(buf) >= 12 + buf[9]:
                request, buf = buf[: 12 + buf[9]], buf[12 + buf[9] :]
                assert request[1:7] == ADDRESS_BYTES
                data = bytes((b - 0x33) & 0xFF for b in request[10:-2])
                self.request.sendall(self.answer(request, request[8], data))

    def answer(self, request: bytes, control: int, data: bytes) -> bytes:
        raise NotImplementedError


def meter_driver(port: int, ids: dict[str, str], interval_s: float = 0.3) -> dict[str, Any]:
    """A dlt645 driver entry reading `ids` (point -> identifier) from the meter every interval."""
    points = [{"point": p, "identifier": di, "interval_s": interval_s} for p, di in ids.items()]
    return {
        "kind": "dlt645",
        "host": "127.0.0.1",
        "port": port,
        "timeout_s": 1.0,
        "meters": [{"address": METER, "points": points}],
    }
