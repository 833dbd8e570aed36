"""HJ 212-2017 codec against packets written out from the standard's format."""

from __future__ import annotations

from datetime import datetime

import pytest

from edge.codecs import FrameError
from edge.codecs import hj212 as h

# The standard's own example packet (CN 1062, set real-time interval): length 0101, CRC 1C80.
STANDARD_EXAMPLE = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
    b"Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
)


def test_crc_and_length_of_the_standards_example() -> None:
    body = STANDARD_EXAMPLE[6:-6]
    assert len(body) == 101
    assert h.crc16(body) == 0x1C80
    packet = h.decode_packet(STANDARD_EXAMPLE)
    assert (packet.cn, packet.mn, packet.pw, packet.flag) == (
        1062,
        "010000A8900016F000169DC0",
        "100000",
        5,
    )
    assert packet.wants_reply
    assert packet.cp == "RtdInterval=30"


def test_encode_reproduces_the_standards_example() -> None:
    segment = STANDARD_EXAMPLE[6:-6].decode()
    assert h.encode_packet(segment) == STANDARD_EXAMPLE


REALTIME_SEGMENT = (
    "QN=20261120081500123;ST=22;CN=2011;PW=123456;MN=88888880000001;Flag=5;"
    "CP=&&DataTime=20261120081500;a21026-Rtd=18.5,a21026-Flag=N;"
    "a21002-Rtd=41.2,a21002-Flag=M;a34013-Rtd=3.1,a34013-Flag=S&&"
)


def test_realtime_upload_parses_into_values() -> None:
    packet = h.decode_packet(h.encode_packet(REALTIME_SEGMENT))
    assert packet.cn == h.CN_REALTIME
    record = h.parse_data_cp(packet.cp)
    assert record.data_time == datetime(2026, 11, 20, 8, 15)
    assert record.values["a21026"] == {"Rtd": "18.5", "Flag": "N"}
    assert record.values["a21002"]["Flag"] == "M"
    assert record.values["a34013"]["Rtd"] == "3.1"


def test_hourly_upload_fields() -> None:
    cp = "DataTime=20261120080000;a21026-Avg=20.1,a21026-Min=15.0,a21026-Max=25.2,a21026-Flag=N"
    record = h.parse_data_cp(cp)
    assert record.values["a21026"]["Avg"] == "20.1"
    assert record.values["a21026"]["Max"] == "25.2"


def test_data_reply_echoes_qn_and_mn() -> None:
    packet = h.decode_packet(h.encode_packet(REALTIME_SEGMENT))
    reply = h.decode_packet(h.data_reply(packet))
    assert (reply.qn, reply.st, reply.cn, reply.mn, reply.flag) == (
        "20261120081500123",
        "91",
        9014,
        "88888880000001",
        4,
    )
    assert reply.cp == ""


def _with(segment: bytes, length: bytes | None = None, crc: bytes | None = None) -> bytes:
    length = length if length is not None else f"{len(segment):04d}".encode()
    crc = crc if crc is not None else f"{h.crc16(segment):04X}".encode()
    return b"##" + length + segment + crc + b"\r\n"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_with(REALTIME_SEGMENT.encode(), crc=b"0000"), "crc"),
        (_with(REALTIME_SEGMENT.encode(), crc=b"ZZZZ"), "crc"),
        (_with(REALTIME_SEGMENT.encode(), length=b"0100"), "length"),
        (_with(REALTIME_SEGMENT.encode(), length=b"01x0"), "length"),
        (b"$" + _with(REALTIME_SEGMENT.encode())[1:], "header"),
        (_with(b"QN=1;ST=22;CN=2011;MN=1;Flag=5;CP=&&DataTime=20261120081500"), "format"),
        (_with(b"QN=1;ST=22;MN=1;Flag=5;CP=&&&&"), "format"),
        (_with("QN=1;ST=22;CN=2011;MN=设备;CP=&&&&".encode()), "format"),
    ],
)
def test_malformed_packets_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(FrameError) as info:
        h.decode_packet(raw)
    assert info.value.reason == reason


def test_data_upload_without_datatime_is_refused() -> None:
    with pytest.raises(FrameError, match="DataTime"):
        h.parse_data_cp("a21026-Rtd=1.0")
    with pytest.raises(FrameError, match="YYYYMMDDhhmmss"):
        h.parse_data_cp("DataTime=2026-11-20;a21026-Rtd=1.0")
