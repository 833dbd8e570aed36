"""Round trips of the codecs over generated inputs (the hand-built frames pin the format)."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from edge.codecs import FrameError
from edge.codecs import dlt645 as c
from edge.codecs import hj212 as h
from edge.codecs.modbus_registers import decode_registers, encode_registers

addresses = st.text(alphabet="0123456789", min_size=12, max_size=12)


@given(addresses, st.integers(0, 99_999_999))
def test_dlt645_energy_round_trip(address: str, hundredths: int) -> None:
    frame = c.decode_frame(c.encode_reply(address, 0x00010000, hundredths / 100))
    assert frame.address == address
    assert round(c.parse_read_reply(frame, 0x00010000) * 100) == hundredths


@given(addresses, st.integers(-799_999, 799_999))
def test_dlt645_signed_current_round_trip(address: str, milliamps: int) -> None:
    frame = c.decode_frame(c.encode_reply(address, 0x02020100, milliamps / 1000))
    assert round(c.parse_read_reply(frame, 0x02020100) * 1000) == milliamps


@given(st.binary(max_size=40))
def test_dlt645_decoder_never_crashes_on_garbage(raw: bytes) -> None:
    with contextlib.suppress(FrameError):
        c.decode_frame(raw)


@given(addresses, st.integers(0, 99_999_999), st.integers(0, 17), st.integers(1, 255))
def test_dlt645_any_flipped_byte_is_caught(address: str, value: int, pos: int, flip: int) -> None:
    frame = bytearray(c.encode_reply(address, 0x00010000, value / 100))
    frame[pos] ^= flip
    try:
        decoded = c.decode_frame(bytes(frame))
    except FrameError:
        return
    raise AssertionError(f"corrupted frame accepted: {decoded}")


segments = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=300
)


@given(segments)
def test_hj212_crc_catches_any_single_byte_change(segment: str) -> None:
    packet = h.encode_packet(f"QN=1;ST=22;CN=2011;MN=1;Flag=4;CP=&&{segment}&&")
    body_start, body_end = 6, len(packet) - 6
    for i in range(body_start, body_end, max(1, (body_end - body_start) // 8)):
        corrupt = bytearray(packet)
        corrupt[i] = corrupt[i] ^ 0x01
        try:
            h.decode_packet(bytes(corrupt))
        except FrameError as exc:
            assert exc.reason in ("crc", "format")
            continue
        raise AssertionError("corrupted packet accepted")


@given(st.binary(max_size=200))
def test_hj212_decoder_never_crashes_on_garbage(raw: bytes) -> None:
    with contextlib.suppress(FrameError):
        h.decode_packet(raw)


@given(
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from(["big", "little"])
)
def test_float32_registers_round_trip(value: float, order: str) -> None:
    assert decode_registers(encode_registers(value, "float32", order), "float32", order) == value


# Readings are floats (JSON numbers): 64-bit registers are exact up to 2**53.
@given(st.integers(-(2**53), 2**53), st.sampled_from(["big", "little"]))
def test_int64_registers_round_trip(value: int, order: str) -> None:
    assert decode_registers(encode_registers(value, "int64", order), "int64", order) == value
