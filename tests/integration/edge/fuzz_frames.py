"""Mutated HJ 212 packets and DL/T 645 replies for the protocol fuzz test (seeded, so a failure
can be replayed). Some mutations keep the frame's own checks (length, CRC, checksum) intact,
so the parsers behind them are reached as well as the framing."""

from __future__ import annotations

import random
from collections.abc import Iterator

from tests.integration.edge.hj212_packets import packet, upload
from tests.integration.edge.meter_sim import frame

NOISE = b"##\r\n&;=,-#\x00\xfe\x68\x16\xff9aZ"


def _bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.choice(NOISE) if rng.random() < 0.5 else rng.randrange(256) for _ in range(n))


def _flip(rng: random.Random, raw: bytes) -> bytes:
    out = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def _text_edit(rng: random.Random, text: str) -> str:
    """An edit of the data segment that keeps it ASCII (so the CRC can be redone over it)."""
    choice = rng.randrange(6)
    if choice == 0:  # a digit of DataTime, the value, the flag...
        i = rng.randrange(len(text))
        return text[:i] + rng.choice("0123456789-.;,=&#ANaef") + text[i + 1 :]
    if choice == 1:
        value = rng.choice(["nan", "inf", "-1e999", "", "1e308", "0x10", "--1"])
        return text.replace("a21026-Rtd=", f"a21026-Rtd={value}", 1)
    if choice == 2:
        stamp = rng.choice(["00010101000000", "99991231235959", "20261340000000", "2026"])
        return text.replace("DataTime=20261120", f"DataTime={stamp}", 1)[: len(text) + 14]
    if choice == 3:
        return text.replace("Flag=5", f"Flag={rng.randrange(256)}", 1)
    if choice == 4:
        i, j = sorted(rng.randrange(len(text)) for _ in range(2))
        return text[:i] + text[j:]
    return text.replace("CN=2011", rng.choice(["CN=2051", "CN=9014", "CN=", "CN=x"]), 1)


def hj212_packets(seed: int, n: int) -> Iterator[tuple[int | None, bytes]]:
    """(readings the bytes must give when what they hold is intact, else None; the bytes)."""
    rng = random.Random(seed)
    for i in range(n):
        value = float(i)
        segment = upload(
            2011,
            f"2026112008150{i:05d}",
            f"DataTime=20261120081500;a21026-Rtd={value},a21026-Flag=N",
        )
        raw = packet(segment)
        kind = rng.randrange(8)
        expect: int | None = None
        if kind == 0:
            expect = 1
        elif kind == 1:
            raw = _flip(rng, raw)
        elif kind == 2:
            raw = raw[: rng.randrange(1, len(raw))]
        elif kind == 3:
            raw = _bytes(rng, rng.randint(1, 40)) + raw
            expect = None if b"#" in raw[: -len(segment)] else 1  # noise before: still intact
        elif kind == 4:
            i_at = rng.randrange(len(raw))
            raw = raw[:i_at] + _bytes(rng, rng.randint(1, 20)) + raw[i_at:]
        elif kind == 5:
            raw = raw[:-2] + packet(segment)  # glued to a copy of itself
            expect = 2
        else:
            raw = packet(_text_edit(rng, segment))
        yield expect, raw


DI_VOLTAGE = bytes([0x00, 0x01, 0x01, 0x02])  # 02010100, XXX.X V


def dlt645_replies(seed: int) -> Iterator[tuple[bool, bytes]]:
    """(whether the reply may leave the driver waiting for its timeout, the reply bytes)."""
    rng = random.Random(seed)
    while True:
        good = frame(0x91, DI_VOLTAGE + bytes([0x01, 0x22]))
        kind = rng.randrange(8)
        if kind == 0:
            yield False, good
        elif kind == 1:
            yield True, _flip(rng, good)  # a flipped byte may hide the end: may time out
        elif kind == 2:
            yield True, good[: rng.randrange(1, len(good))]
        elif kind == 3:
            yield False, _bytes(rng, rng.randint(1, 40)) + good
        elif kind == 4:  # checksum redone over a random value, control code or identifier
            data = DI_VOLTAGE + _bytes(rng, 2)
            control = 0x91
            if rng.random() < 0.3:
                control = rng.choice([0x91, 0xB1, 0xD1, 0x11, 0x92, rng.randrange(256)])
            if rng.random() < 0.3:
                data = _bytes(rng, rng.randint(0, 8))
            yield control & 0x80 == 0, frame(control, data)
        elif kind == 5:
            yield False, good + _bytes(rng, rng.randint(1, 10))
        elif kind == 6:
            yield False, b"\x68" * rng.randint(1, 5) + good
        else:
            yield True, _bytes(rng, rng.randint(1, 30))
