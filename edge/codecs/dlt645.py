"""DL/T 645-2007 frames (multi-function electricity meters on RS-485).

    [FE FE FE FE]  68  A0 A1 A2 A3 A4 A5  68  C  L  DATA(L bytes)  CS  16

- Address: 12 decimal digits in BCD, low byte first (A0 holds the last two digits); AA is a
  wildcard byte.
- C: 0x11 read data; a normal reply sets 0x80 (0x91, or 0xB1 when follow-up frames exist), an
  error reply sets 0xC0 (0xD1) and carries one error byte. 0x12 reads follow-up data: DATA is
  the identifier and a frame number SEQ (1, 2, ...); the reply (0x92, or 0xB2 while more
  follow) carries the identifier, the next part of the data and SEQ last.
- Every DATA byte is sent plus 0x33 (mod 256).
- CS: sum of every byte from the first 68 to the last DATA byte, mod 256.
- A read request's DATA is the data identifier DI0 DI1 DI2 DI3 (low byte first); a reply's is
  the identifier followed by the value in BCD, low byte first; for signed quantities the top
  bit of the most significant byte is the sign.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.codecs import FrameError

START = 0x68
END = 0x16
WAKEUP = b"\xfe\xfe\xfe\xfe"
OFFSET = 0x33

READ = 0x11
READ_FOLLOW_UP = 0x12
REPLY_FLAG = 0x80
ERROR_FLAG = 0x40
FOLLOW_UP_FLAG = 0x20

HEADER_LEN = 10  # 68 + 6 address bytes + 68 + C + L


@dataclass(frozen=True)
class Frame:
    address: str
    control: int
    data: bytes  # the 0x33 offset already removed

    @property
    def is_reply(self) -> bool:
        return bool(self.control & REPLY_FLAG)

    @property
    def is_error(self) -> bool:
        return bool(self.control & ERROR_FLAG)

    @property
    def function(self) -> int:
        return self.control & 0x1F

    @property
    def has_follow_up(self) -> bool:
        return bool(self.control & FOLLOW_UP_FLAG) and not self.is_error


@dataclass(frozen=True)
class ValueFormat:
    """How a value is encoded: BCD bytes, digits after the point, whether it carries a sign."""

    size: int
    decimals: int
    signed: bool
    unit: str


# Formats from the standard's data identifier tables, by DI3 DI2 (the quantity family).
_FAMILIES: dict[tuple[int, int], ValueFormat] = {
    (0x02, 0x01): ValueFormat(2, 1, False, "V"),  # voltage XXX.X
    (0x02, 0x02): ValueFormat(3, 3, True, "A"),  # current XXX.XXX
    (0x02, 0x03): ValueFormat(3, 4, True, "kW"),  # active power XX.XXXX
    (0x02, 0x04): ValueFormat(3, 4, True, "kvar"),  # reactive power XX.XXXX
    (0x02, 0x05): ValueFormat(3, 4, True, "kVA"),  # apparent power XX.XXXX
    (0x02, 0x06): ValueFormat(2, 3, True, ""),  # power factor X.XXX
}
_ENERGY = ValueFormat(4, 2, False, "kWh")  # DI3 = 00: energy XXXXXX.XX
# Combined active (DI2 = 00) and combined reactive 1 and 2 (03, 04) energies are sums with
# configurable signs, so they can be negative: the top bit of the highest byte is the sign.
_SIGNED_ENERGY = ValueFormat(4, 2, True, "kWh")
_SIGNED_ENERGY_FAMILIES = frozenset({0x00, 0x03, 0x04})
_FREQUENCY = ValueFormat(2, 2, False, "Hz")  # 02800002: grid frequency XX.XX

ERROR_BITS = {
    0x01: "other error",
    0x02: "no data requested (unknown identifier)",
    0x04: "password wrong or not authorised",
    0x08: "baud rate cannot be changed",
    0x10: "annual time zones exceeded",
    0x20: "daily periods exceeded",
    0x40: "tariff count exceeded",
}


class MeterError(Exception):
    """The meter answered with an error reply."""

    def __init__(self, address: str, code: int) -> None:
        names = [name for bit, name in ERROR_BITS.items() if code & bit] or [f"code {code:#04x}"]
        super().__init__(f"meter {address}: {', '.join(names)}")
        self.address = address
        self.code = code


def value_format(di: int) -> ValueFormat:
    di3, di2 = (di >> 24) & 0xFF, (di >> 16) & 0xFF
    if di3 == 0x00:
        return _SIGNED_ENERGY if di2 in _SIGNED_ENERGY_FAMILIES else _ENERGY
    if di == 0x02800002:
        return _FREQUENCY
    fmt = _FAMILIES.get((di3, di2))
    if fmt is None:
        raise ValueError(f"data identifier {di:08X} is not supported")
    return fmt


# -- BCD ----------------------------------------------------------------------------------


def bcd_to_int(data: bytes) -> int:
    """Little-endian BCD (low byte first) to an integer; a nibble above 9 is refused."""
    value = 0
    for b in reversed(data):
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise FrameError("bcd", f"byte {b:02X} is not BCD")
        value = value * 100 + hi * 10 + lo
    return value


def int_to_bcd(value: int, size: int) -> bytes:
    if value < 0 or value >= 100**size:
        raise ValueError(f"{value} does not fit in {size} BCD bytes")
    out = bytearray()
    for _ in range(size):
        value, two = divmod(value, 100)
        out.append((two // 10) << 4 | two % 10)
    return bytes(out)


def decode_value(data: bytes, fmt: ValueFormat) -> float:
    if len(data) != fmt.size:
        raise FrameError("length", f"value has {len(data)} bytes, expected {fmt.size}")
    negative = False
    if fmt.signed and data[-1] & 0x80:
        negative = True
        data = data[:-1] + bytes([data[-1] & 0x7F])
    magnitude = bcd_to_int(data) / 10**fmt.decimals
    return -magnitude if negative else magnitude


def encode_value(value: float, fmt: ValueFormat) -> bytes:
    scaled = round(abs(value) * 10**fmt.decimals)
    data = bytearray(int_to_bcd(scaled, fmt.size))
    if value < 0:
        if not fmt.signed:
            raise ValueError("negative value for an unsigned quantity")
        if data[-1] & 0x80:
            raise ValueError(f"{value} does not fit")
        data[-1] |= 0x80
    return bytes(data)


# -- addresses and frames -----------------------------------------------------------------


def encode_address(address: str) -> bytes:
    """'000000000001' -> 01 00 00 00 00 00 (low byte first); 'A' digits give AA wildcards."""
    if len(address) != 12:
        raise ValueError("a meter address has 12 digits")
    out = bytearray()
    for i in range(10, -1, -2):
        pair = address[i : i + 2].upper()
        if pair == "AA":
            out.append(0xAA)
        elif pair.isdigit():
            out.append(int(pair[0]) << 4 | int(pair[1]))
        else:
            raise ValueError(f"bad meter address {address!r}")
    return bytes(out)


def decode_address(raw: bytes) -> str:
    return "".join(f"{b:02X}" for b in reversed(raw))


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def encode_frame(address: str, control: int, data: bytes, wakeup: bool = False) -> bytes:
    if len(data) > 200:
        raise ValueError("DATA is limited to 200 bytes")
    body = (
        bytes([START])
        + encode_address(address)
        + bytes([START, control, len(data)])
        + bytes((b + OFFSET) & 0xFF for b in data)
    )
    return (WAKEUP if wakeup else b"") + body + bytes([checksum(body), END])


def encode_read(address: str, di: int, wakeup: bool = True) -> bytes:
    """A read-data request (C = 0x11) for one data identifier."""
    return encode_frame(address, READ, di.to_bytes(4, "little"), wakeup)


def encode_reply(address: str, di: int, value: float) -> bytes:
    """A normal reply to a read (what a meter sends); used by simulators and tests."""
    return encode_frame(
        address, READ | REPLY_FLAG, di.to_bytes(4, "little") + encode_value(value, value_format(di))
    )


def encode_read_follow_up(address: str, di: int, seq: int, wakeup: bool = True) -> bytes:
    """A read-follow-up request (C = 0x12) for frame `seq` (1, 2, ...) of `di`'s data."""
    return encode_frame(address, READ_FOLLOW_UP, di.to_bytes(4, "little") + bytes([seq]), wakeup)


def find_frame(buf: bytes) -> tuple[Frame | None, int]:
    """The first valid frame in `buf` and the bytes up to its end; (None, n) if none is whole
    yet, where the first n bytes can be dropped.

    Each 68 is tried as a frame start: FE wake-up bytes, echoes, padding and stray 68s before
    the real frame are skipped, and a candidate only counts when its second 68, length, end
    byte and checksum all hold. A whole candidate that fails only its checksum raises
    FrameError when no valid frame follows it (a reply damaged on the line).
    """
    keep = len(buf)
    damaged: FrameError | None = None
    damaged_end = 0
    i = buf.find(START)
    while i >= 0:
        if len(buf) - i < HEADER_LEN + 2:
            if i >= damaged_end:
                keep = min(keep, i)
            break
        if buf[i + 7] == START:
            end = i + HEADER_LEN + buf[i + 9] + 2
            if end > len(buf):
                # May be a frame still arriving (unless it starts inside a damaged frame);
                # later candidates may still be whole.
                if i >= damaged_end:
                    keep = min(keep, i)
            elif buf[end - 1] == END:
                cs = checksum(buf[i : end - 2])
                if cs == buf[end - 2]:
                    return decode_frame(buf[i:end]), end
                if damaged is None:
                    damaged = FrameError("checksum", f"CS is {buf[end - 2]:02X}, computed {cs:02X}")
                    damaged_end = end
        i = buf.find(START, i + 1)
    if damaged is not None and keep >= damaged_end:
        raise damaged
    return None, keep


def decode_frame(buf: bytes) -> Frame:
    """One complete frame (FE wake-up bytes allowed in front) to a Frame; else FrameError."""
    start = _skip_wakeup(buf)
    frame = buf[start:]
    if len(frame) < HEADER_LEN + 2:
        raise FrameError("short", f"{len(frame)} bytes is shorter than any frame")
    if frame[0] != START or frame[7] != START:
        raise FrameError("start", "frame does not start 68 .. .. .. .. .. .. 68")
    length = frame[9]
    if len(frame) != HEADER_LEN + length + 2:
        raise FrameError("length", f"L={length} but the frame has {len(frame)} bytes")
    if frame[-1] != END:
        raise FrameError("end", f"last byte is {frame[-1]:02X}, not 16")
    body = frame[:-2]
    if checksum(body) != frame[-2]:
        raise FrameError("checksum", f"CS is {frame[-2]:02X}, computed {checksum(body):02X}")
    data = bytes((b - OFFSET) & 0xFF for b in body[HEADER_LEN:])
    return Frame(decode_address(frame[1:7]), frame[8], data)


def parse_read_reply(frame: Frame, di: int) -> float:
    """The value in a reply to a read of `di`; MeterError for an error reply."""
    return decode_value(reply_data(frame, di), value_format(di))


def reply_data(frame: Frame, di: int, function: int = READ, seq: int | None = None) -> bytes:
    """The data bytes after the identifier in a reply to a read (or, with `function` 0x12 and
    `seq`, to a read of follow-up frame `seq`); MeterError for an error reply."""
    if frame.function != function or not frame.is_reply:
        raise FrameError("control", f"C={frame.control:02X} is not a reply to C={function:02X}")
    if frame.is_error:
        raise MeterError(frame.address, frame.data[0] if frame.data else 0)
    tail = 0 if seq is None else 1
    if len(frame.data) < 4 + tail:
        raise FrameError("length", "reply shorter than its data identifier")
    got = int.from_bytes(frame.data[:4], "little")
    if got != di:
        raise FrameError("identifier", f"reply is for {got:08X}, asked {di:08X}")
    if seq is not None and frame.data[-1] != seq:
        raise FrameError("sequence", f"follow-up frame {frame.data[-1]}, asked {seq}")
    return frame.data[4 : len(frame.data) - tail]


def _skip_wakeup(buf: bytes) -> int:
    i = 0
    while i < len(buf) and buf[i] == 0xFE:
        i += 1
    return i
