"""DL/T 645-2007 codec against frames written out by hand from the standard's layout."""

from __future__ import annotations

import pytest

from edge.codecs import FrameError
from edge.codecs import dlt645 as c

ADDR = "123456789012"  # on the wire low byte first: 12 90 78 56 34 12


def hexb(text: str) -> bytes:
    return bytes.fromhex(text)


def test_read_request_matches_the_commonly_quoted_example() -> None:
    # Read forward active energy (00010000) from meter 000000000001.
    assert c.encode_read("000000000001", 0x00010000, wakeup=False) == hexb(
        "68 01 00 00 00 00 00 68 11 04 33 33 34 33 B3 16"
    )
    assert c.encode_read("000000000001", 0x00010000).startswith(hexb("FE FE FE FE 68"))


def test_combined_energy_request() -> None:
    assert c.encode_read(ADDR, 0x00000000, wakeup=False) == hexb(
        "68 12 90 78 56 34 12 68 11 04 33 33 33 33 67 16"
    )


@pytest.mark.parametrize(
    ("frame", "di", "value"),
    [
        # 123456.78 kWh: BCD 78 56 34 12, +33 -> AB 89 67 45
        ("68 12 90 78 56 34 12 68 91 08 33 33 34 33 AB 89 67 45 CC 16", 0x00010000, 123456.78),
        # phase-A voltage 220.1 V: 01 22 -> 34 55
        ("68 12 90 78 56 34 12 68 91 06 33 34 34 35 34 55 76 16", 0x02010100, 220.1),
        # phase-A current -1.234 A: 34 12 80 (sign bit) -> 67 45 B3
        ("68 12 90 78 56 34 12 68 91 07 33 34 35 35 67 45 B3 4E 16", 0x02020100, -1.234),
        # power factor 0.987: 87 09 -> BA 3C
        ("68 12 90 78 56 34 12 68 91 06 33 33 39 35 BA 3C E7 16", 0x02060000, 0.987),
    ],
)
def test_replies_decode_to_values(frame: str, di: int, value: float) -> None:
    decoded = c.decode_frame(hexb("FE FE " + frame))
    assert decoded.address == ADDR
    assert decoded.is_reply and not decoded.is_error
    assert c.parse_read_reply(decoded, di) == pytest.approx(value)


def test_reply_encoding_round_trips_the_hand_built_frame() -> None:
    assert c.encode_reply(ADDR, 0x00010000, 123456.78) == hexb(
        "68 12 90 78 56 34 12 68 91 08 33 33 34 33 AB 89 67 45 CC 16"
    )
    assert c.encode_reply(ADDR, 0x02020100, -1.234) == hexb(
        "68 12 90 78 56 34 12 68 91 07 33 34 35 35 67 45 B3 4E 16"
    )


def test_error_reply_raises_meter_error_with_the_reason() -> None:
    frame = c.decode_frame(hexb("68 12 90 78 56 34 12 68 D1 01 35 8D 16"))
    assert frame.is_error
    with pytest.raises(c.MeterError, match="no data requested"):
        c.parse_read_reply(frame, 0x00010000)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("68 12 90 78 56 34 12 68 91 08 33 33 34 33 AB 89 67 45 CD 16", "checksum"),
        ("68 12 90 78 56 34 12 68 91 08 33 33 34 33 AB 89 67 45 CC 17", "end"),
        ("68 12 90 78 56 34 12 68 91 09 33 33 34 33 AB 89 67 45 CC 16", "length"),
        ("68 12 90 78 56 34 12 69 91 08 33 33 34 33 AB 89 67 45 CC 16", "start"),
        ("68 12 90 78 16", "short"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(frame: str, reason: str) -> None:
    with pytest.raises(FrameError) as info:
        c.decode_frame(hexb(frame))
    assert info.value.reason == reason


def test_non_bcd_value_is_refused() -> None:
    # 0x3A - 0x33 = 0x07 fine; 0x3F - 0x33 = 0x0C is not a BCD digit.
    body = hexb("68 12 90 78 56 34 12 68 91 06 33 34 34 35 3F 55")
    frame = c.decode_frame(body + bytes([sum(body) % 256, 0x16]))
    with pytest.raises(FrameError, match="bcd"):
        c.parse_read_reply(frame, 0x02010100)


def test_reply_for_another_identifier_is_refused() -> None:
    frame = c.decode_frame(hexb("68 12 90 78 56 34 12 68 91 06 33 34 34 35 34 55 76 16"))
    with pytest.raises(FrameError) as info:
        c.parse_read_reply(frame, 0x02010200)
    assert info.value.reason == "identifier"


def test_find_frame_finds_the_end_of_a_streamed_frame() -> None:
    frame = hexb("FE FE 68 12 90 78 56 34 12 68 91 06 33 34 34 35 34 55 76 16")
    assert c.find_frame(frame[:8]) == (None, 2)  # the wake-up bytes can go
    assert c.find_frame(frame[:-1]) == (None, 2)
    got, used = c.find_frame(frame + b"\x00")
    assert got is not None and used == len(frame)
    assert c.find_frame(hexb("12 34 56 78 9A BC DE F0 12 34 56")) == (None, 11)  # all noise


def test_combined_energy_is_signed_and_forward_energy_is_not() -> None:
    negative = bytes([0x34, 0x12, 0x00, 0x80])  # -12.34 kWh, sign in the top bit
    assert c.decode_value(negative, c.value_format(0x00000000)) == pytest.approx(-12.34)
    assert c.decode_value(negative, c.value_format(0x00030000)) == pytest.approx(-12.34)
    # Forward active energy has no sign: the same bytes are a (large) reading.
    assert c.decode_value(negative, c.value_format(0x00010000)) == pytest.approx(800012.34)
    assert c.encode_value(-12.34, c.value_format(0x00000000)) == negative


def test_find_frame_skips_echoes_noise_and_stray_start_bytes() -> None:
    reply = c.encode_reply("202611200001", 0x02010100, 220.1)
    echo = c.encode_read("202611200001", 0x02010100)
    noise = b"\x68\x00\x68" + echo + b"\xfe\x68\x68"
    frame, used = c.find_frame(noise + reply + b"\x68")
    assert frame is not None and frame.control == 0x11  # the echo comes first ...
    frame, _ = c.find_frame((noise + reply)[used:])
    assert frame is not None and frame.is_reply  # ... then the reply
    assert c.parse_read_reply(frame, 0x02010100) == pytest.approx(220.1)
    assert c.find_frame(reply[:-3]) == (None, 0)  # incomplete: keep it


def test_find_frame_refuses_a_whole_frame_with_a_bad_checksum() -> None:
    reply = bytearray(c.encode_reply("202611200001", 0x02010100, 220.1))
    reply[-2] ^= 0xFF
    with pytest.raises(FrameError) as info:
        c.find_frame(bytes(reply))
    assert info.value.reason == "checksum"
