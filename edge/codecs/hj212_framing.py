"""Cutting an HJ 212 byte stream into packets, resynchronising on `##` and the length field.

Real data loggers send bytes before the header (`\\x00\\x13xyz##...`), glue packets together
without CRLF between them, cut a packet short when they reset, and TCP splits or joins reads
at will. The framer therefore trusts no line ends: a packet is `##`, four digits n, n bytes
of data segment and four hex digits of CRC; the CRLF after it is optional. A candidate whose
CRC fails is refused and the search for `##` starts again two bytes after its header, so a
packet cut short loses only itself, not the packet glued behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.codecs import FrameError
from edge.codecs.hj212 import HEADER, MAX_SEGMENT, TRAILER, crc16

_HEAD = 6  # "##" and the four length digits
_CRC = 4
MAX_PACKET = _HEAD + MAX_SEGMENT + _CRC + len(TRAILER)
_SEPARATORS = frozenset(b"\r\n")


@dataclass(frozen=True)
class Refused:
    """Bytes the framer could not take as a packet; `raw` is what it dropped (for a reply)."""

    error: FrameError
    raw: bytes


class PacketFramer:
    """Feed bytes as they arrive; get whole packets (`##` .. CRC, without CRLF) and refusals."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_garbage = False

    def feed(self, data: bytes) -> list[bytes | Refused]:
        self._buf += data
        out: list[bytes | Refused] = []
        while self._step(out):
            pass
        return out

    def close(self) -> list[bytes | Refused]:
        """The stream ended: what is left is a packet cut short (or trailing garbage)."""
        out: list[bytes | Refused] = []
        rest = bytes(self._buf).strip(b"\r\n")
        self._buf.clear()
        if rest.startswith(HEADER):
            out.append(
                Refused(
                    FrameError("truncated", f"stream ended {len(rest)} bytes into a packet"), rest
                )
            )
        elif rest and not self._in_garbage:
            out.append(Refused(FrameError("header", f"{len(rest)} bytes without ##"), rest))
        return out

    def _step(self, out: list[bytes | Refused]) -> bool:
        """Take one packet, refusal or run of garbage off the buffer; False: need more bytes."""
        buf = self._buf
        start = buf.find(HEADER)
        if start != 0:
            end = len(buf) if start < 0 else start
            if start < 0 and buf.endswith(b"#"):
                end -= 1  # may be the first half of the next header
            junk = bytes(buf[:end])
            del buf[:end]
            if junk.strip(b"\r\n") and not self._in_garbage:
                self._in_garbage = True
                out.append(
                    Refused(
                        FrameError("header", f"{len(junk)} bytes without ##: {junk[:32]!r}"), junk
                    )
                )
            return start >= 0
        self._in_garbage = False
        if len(buf) < _HEAD:
            return False
        digits = bytes(buf[2:_HEAD])
        if not digits.isdigit():
            # Drop one byte only: in "###0101..." the real header starts at the second '#'.
            error = FrameError("length", f"no 4-digit length after ##: {digits!r}")
            return self._refuse(out, error, 1)
        declared = int(digits)
        total = _HEAD + declared + _CRC
        lying = self._lying_length(declared)
        if lying is not None:
            return self._refuse(out, lying[0], lying[1])
        if len(buf) < total or (len(buf) == total and buf[-1:] == b"#"):
            return False  # (a '#' last may start a header glued behind a packet cut short)
        if not _crc_ok(bytes(buf[_HEAD : total - _CRC]), bytes(buf[total - _CRC : total])):
            inner = buf.find(HEADER, 2, total + 1)
            if inner >= 0:
                # Cut short and followed by the next packet: refuse only what precedes that one.
                error = FrameError("truncated", f"packet cut short after {inner} bytes")
                return self._refuse(out, error, inner)
            crc_text = bytes(buf[total - _CRC : total])
            return self._refuse(out, FrameError("crc", f"CRC {crc_text!r} does not match"), total)
        packet = bytes(buf[:total])
        del buf[:total]
        if buf[: len(TRAILER)] == TRAILER:
            del buf[: len(TRAILER)]
        out.append(packet)
        return True

    def _lying_length(self, declared: int) -> tuple[FrameError, int] | None:
        """A whole CRLF-ended packet whose CRC holds but whose length field does not: refused
        at once, since waiting for the declared bytes would leave a logger that waits for our
        answer without one."""
        buf = self._buf
        line_end = buf.find(TRAILER, _HEAD, MAX_PACKET)
        if line_end < 0 or line_end - _CRC - _HEAD == declared:
            return None
        inner = buf.find(HEADER, 2, line_end)
        if inner >= 0 or not _crc_ok(
            bytes(buf[_HEAD : line_end - _CRC]), bytes(buf[line_end - _CRC : line_end])
        ):
            return None
        has = line_end - _CRC - _HEAD
        return FrameError("length", f"declared {declared} bytes, data segment has {has}"), (
            line_end + len(TRAILER)
        )

    def _refuse(self, out: list[bytes | Refused], error: FrameError, upto: int = 2) -> bool:
        raw = bytes(self._buf[:upto])
        del self._buf[:upto]
        out.append(Refused(error, raw))
        # What follows a refused header is part of it, not a new run of garbage.
        self._in_garbage = True
        return True


def _crc_ok(body: bytes, crc_text: bytes) -> bool:
    try:
        return len(crc_text) == _CRC and int(crc_text, 16) == crc16(body)
    except ValueError:
        return False
