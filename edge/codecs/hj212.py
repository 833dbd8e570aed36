"""HJ 212-2017 packets (data loggers of pollution-source and station monitoring).

    ##  nnnn  QN=...;ST=..;CN=....;PW=...;MN=...;Flag=.;CP=&&...&&  CRC(4 hex)  \\r\\n

- nnnn: the data segment's length in bytes, 4 decimal digits.
- CRC over the data segment only: start 0xFFFF; per byte `crc = (crc >> 8) ^ byte`, then 8
  times shift right, XOR 0xA001 when the shifted-out bit was 1 (not the Modbus CRC).
- Flag bits: bit 0 (A) asks for a reply, bit 1 (D) marks a split packet (the header then
  carries PNUM, the number of packets, and PNO, this packet's number from 1), bits 2-7 the
  protocol version (000001 for 2017).
- CP: `DataTime=YYYYMMDDhhmmss;a21026-Rtd=10.5,a21026-Flag=N;...` (`;` between groups, `,`
  inside a group).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from edge.codecs import FrameError

HEADER = b"##"
TRAILER = b"\r\n"
MAX_SEGMENT = 9999  # four decimal digits

CN_REALTIME = 2011
CN_MINUTE = 2051
CN_HOURLY = 2061
CN_DAILY = 2031
CN_REQUEST_REPLY = 9011
CN_DATA_REPLY = 9014
DATA_CNS = frozenset({CN_REALTIME, CN_MINUTE, CN_HOURLY, CN_DAILY})

FLAG_ACK = 0x01
FLAG_SPLIT = 0x02
FLAG_VERSION_2017 = 0x04

_LENGTH = re.compile(rb"\d{4}")
_TIME = "%Y%m%d%H%M%S"


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ byte
        for _ in range(8):
            shifted_out = crc & 1
            crc >>= 1
            if shifted_out:
                crc ^= 0xA001
    return crc


@dataclass(frozen=True)
class Packet:
    qn: str
    st: str
    cn: int
    pw: str
    mn: str
    flag: int
    cp: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def wants_reply(self) -> bool:
        return bool(self.flag & FLAG_ACK)

    @property
    def is_split(self) -> bool:
        return bool(self.flag & FLAG_SPLIT)


def encode_packet(segment: str) -> bytes:
    body = segment.encode("ascii")
    if len(body) > MAX_SEGMENT:
        raise ValueError("data segment longer than 9999 bytes")
    return HEADER + f"{len(body):04d}".encode() + body + f"{crc16(body):04X}".encode() + TRAILER


def decode_packet(raw: bytes) -> Packet:
    """One packet (with or without the trailing CRLF) to a Packet; else FrameError."""
    if raw.endswith(TRAILER):
        raw = raw[: -len(TRAILER)]
    if not raw.startswith(HEADER):
        raise FrameError("header", "packet does not start with ##")
    if len(raw) < 2 + 4 + 4 or not _LENGTH.fullmatch(raw[2:6]):
        raise FrameError("length", "no 4-digit data length after ##")
    declared = int(raw[2:6])
    body, crc_text = raw[6:-4], raw[-4:]
    if len(body) != declared:
        raise FrameError("length", f"declared {declared} bytes, data segment has {len(body)}")
    try:
        crc = int(crc_text, 16)
    except ValueError:
        raise FrameError("crc", f"CRC {crc_text!r} is not 4 hex digits") from None
    if crc != crc16(body):
        raise FrameError("crc", f"CRC {crc:04X}, computed {crc16(body):04X}")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise FrameError("format", "data segment is not ASCII") from None
    return parse_segment(text)


def parse_segment(text: str) -> Packet:
    head, sep, rest = text.partition("CP=&&")
    if not sep or not rest.endswith("&&"):
        raise FrameError("format", "no CP=&&...&& in the data segment")
    cp = rest[:-2]
    fields: dict[str, str] = {}
    for item in head.split(";"):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq:
            raise FrameError("format", f"field {item!r} has no '='")
        fields[key] = value
    for required in ("ST", "CN", "MN"):
        if required not in fields:
            raise FrameError("format", f"missing {required}")
    if not fields["CN"].isdigit():
        raise FrameError("format", f"CN={fields['CN']!r} is not a number")
    flag_text = fields.get("Flag", "0")
    if not flag_text.isdigit():
        raise FrameError("format", f"Flag={flag_text!r} is not a number")
    return Packet(
        qn=fields.get("QN", ""),
        st=fields["ST"],
        cn=int(fields["CN"]),
        pw=fields.get("PW", ""),
        mn=fields["MN"],
        flag=int(flag_text),
        cp=cp,
        fields=fields,
    )


@dataclass(frozen=True)
class DataRecord:
    """The CP of a data upload: when, and per pollutant code its fields (Rtd, Avg, Flag...)."""

    data_time: datetime  # naive local time of the logger
    values: dict[str, dict[str, str]]


def parse_data_cp(cp: str) -> DataRecord:
    data_time: datetime | None = None
    values: dict[str, dict[str, str]] = {}
    for group in cp.split(";"):
        for item in group.split(","):
            if not item:
                continue
            key, eq, value = item.partition("=")
            if not eq:
                raise FrameError("format", f"CP item {item!r} has no '='")
            if key == "DataTime":
                data_time = parse_time(key, value)
                continue
            code, dash, name = key.partition("-")
            if not dash:
                continue  # other CP parameters (e.g. RtdInterval) are not data
            values.setdefault(code, {})[name] = value
    if data_time is None:
        raise FrameError("format", "data upload without DataTime")
    return DataRecord(data_time, values)


def parse_time(key: str, value: str) -> datetime:
    """A YYYYMMDDhhmmss field (DataTime, a factor's SampleTime) to a naive local time."""
    try:
        return datetime.strptime(value, _TIME)
    except ValueError:
        raise FrameError("format", f"{key}={value!r} is not YYYYMMDDhhmmss") from None


def segment_of(raw: bytes) -> Packet | None:
    """The header fields of a packet refused for its CRC or length, if they still parse: only
    to address the answer that says so (nothing in it is taken as data)."""
    raw = raw.removesuffix(TRAILER)
    try:
        return parse_segment(raw[6:-4].decode("ascii"))
    except (FrameError, UnicodeDecodeError, ValueError):
        return None


def request_reply(packet: Packet, qn_rtn: int) -> bytes:
    """The request reply (CN 9011) with its QnRtn code, e.g. 3 for a wrong PW."""
    return encode_packet(
        f"QN={packet.qn};ST=91;CN={CN_REQUEST_REPLY};PW={packet.pw};MN={packet.mn};"
        f"Flag={FLAG_VERSION_2017};CP=&&QnRtn={qn_rtn}&&"
    )


def data_reply(packet: Packet) -> bytes:
    """The data reply (CN 9014) a logger asked for with Flag bit A."""
    return encode_packet(
        f"QN={packet.qn};ST=91;CN={CN_DATA_REPLY};PW={packet.pw};MN={packet.mn};"
        f"Flag={FLAG_VERSION_2017};CP=&&&&"
    )
