"""Hostile payloads for ingest: random bytes, mutated JSON, NUL, lone surrogates, deep nesting.

Seeded, so a failing run can be replayed with the same payloads.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

_T0 = datetime(2026, 11, 20, tzinfo=UTC)
_NASTY = [
    b"\x00",
    b"\\u0000",
    b"\\udc00",
    b"\\ud800",
    b"\xff",
    b"\xed\xa0\x80",  # a surrogate encoded as UTF-8: not valid UTF-8
    b"NaN",
    b"1e999",
    b"-0",
    b'"',
    b"{",
    b"[" * 200,
    b"9" * 400,
]


def _valid(rng: random.Random, points: list[str], n: int) -> bytes:
    readings = [
        {
            "point": rng.choice(points),
            "ts": (_T0 + timedelta(seconds=rng.randrange(10**7))).isoformat(),
            "v": rng.uniform(-1e6, 1e6),
            "q": rng.randrange(5),
        }
        for _ in range(rng.randint(1, 5))
    ]
    return json.dumps({"seq": n, "readings": readings}).encode()


def _mutate(rng: random.Random, payload: bytes) -> bytes:
    data = bytearray(payload)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(4)
        at = rng.randrange(len(data) + 1)
        if kind == 0 and data:  # flip a byte
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:  # insert something nasty
            data[at:at] = rng.choice(_NASTY)
        elif kind == 2:  # cut
            del data[at:]
        else:  # replace a string's content
            data[at:at] = b'"' + rng.choice(_NASTY) + b'"'
    return bytes(data)


def payloads(seed: int, points: list[str], count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for n in range(count):
        roll = rng.random()
        if roll < 0.1:
            yield rng.randbytes(rng.randint(0, 300))
        elif roll < 0.2:
            yield _valid(rng, points, n)
        else:
            yield _mutate(rng, _valid(rng, points, n))
