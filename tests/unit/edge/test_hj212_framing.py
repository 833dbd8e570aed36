"""The HJ 212 framer on byte streams as loggers send them (pure, no sockets)."""

from __future__ import annotations

import pytest

from edge.codecs import hj212 as h
from edge.codecs.hj212_framing import PacketFramer, Refused
from edge.codecs.hj212_split import SplitPackets

SEGMENTS = [
    f"QN=2026112008150000{i};ST=22;CN=2011;PW=123456;MN=88888880000001;Flag=4;"
    f"CP=&&DataTime=20261120081500;a21026-Rtd={i}.5&&"
    for i in range(4)
]
PACKETS = [h.encode_packet(s) for s in SEGMENTS]


def run(stream: bytes, step: int) -> tuple[list[bytes], list[str]]:
    framer = PacketFramer()
    items: list[bytes | Refused] = []
    for i in range(0, len(stream), step):
        items += framer.feed(stream[i : i + step])
    items += framer.close()
    packets = [i for i in items if isinstance(i, bytes)]
    reasons = [i.error.reason for i in items if isinstance(i, Refused)]
    return packets, reasons


@pytest.mark.parametrize("step", [1, 3, 64, 100_000])
def test_noise_glue_and_a_cut_short_packet_lose_only_what_is_damaged(step: int) -> None:
    a, b, c, d = PACKETS
    stream = b"\x00\x13xyz" + a[:-2] + b + c[:30] + d + b"\r\n" + a[:-2]
    packets, reasons = run(stream, step)
    assert packets == [a[:-2], b[:-2], d[:-2], a[:-2]]
    assert reasons == ["header", "truncated"]


def test_a_lying_length_is_refused_at_once_when_the_line_ends() -> None:
    body = SEGMENTS[0].encode()
    lying = b"##" + f"{len(body) + 50:04d}".encode() + body + f"{h.crc16(body):04X}\r\n".encode()
    framer = PacketFramer()
    (item,) = framer.feed(lying)
    assert isinstance(item, Refused) and item.error.reason == "length"
    assert framer.feed(PACKETS[1]) == [PACKETS[1][:-2]]


def test_a_bad_crc_is_refused_with_the_packet_kept_for_the_reply() -> None:
    bad = PACKETS[0][:-6] + b"0000\r\n"
    (item,) = PacketFramer().feed(bad + PACKETS[1])[:1]
    assert isinstance(item, Refused) and item.error.reason == "crc"
    header = h.segment_of(item.raw)
    assert header is not None and header.qn == "20261120081500000"


def test_noise_is_dropped_as_it_comes_so_the_buffer_stays_small() -> None:
    framer = PacketFramer()
    for _ in range(1000):
        framer.feed(b"x" * 1000)
    assert len(framer._buf) == 0


def test_split_parts_are_joined_in_order_and_stale_uploads_given_up() -> None:
    now = [0.0]
    split = SplitPackets(max_pending=2, max_age_s=10, clock=lambda: now[0])

    def part(qn: str, pno: int, cp: str) -> h.Packet:
        return h.parse_segment(
            f"QN={qn};ST=22;CN=2011;PW=1;MN=M;Flag=7;PNUM=2;PNO={pno};CP=&&{cp}&&"
        )

    assert split.add(part("1", 2, "b-Rtd=2")) == (None, [])
    whole, given_up = split.add(part("1", 1, "DataTime=20261120081500;a-Rtd=1"))
    assert whole is not None and not given_up and not whole.is_split
    assert whole.cp == "DataTime=20261120081500;a-Rtd=1;b-Rtd=2"
    split.add(part("2", 1, "x"))
    now[0] = 11.0
    assert split.add(part("3", 1, "x")) == (None, [("M", "2", 2011)])
