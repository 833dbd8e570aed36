"""Modbus register maps: numbers spread over 16-bit registers, and grouping reads into blocks.

Within a register the byte order is always big-endian (the Modbus standard); across registers
meters differ: `big` word order puts the most significant word first (ABCD), `little` last
(CDAB).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

_FORMATS = {
    "uint16": (1, ">H"),
    "int16": (1, ">h"),
    "uint32": (2, ">I"),
    "int32": (2, ">i"),
    "uint64": (4, ">Q"),
    "int64": (4, ">q"),
    "float32": (2, ">f"),
    "float64": (4, ">d"),
}

MAX_REGISTERS_PER_READ = 125  # the protocol's limit for function codes 3 and 4


def register_count(kind: str) -> int:
    return _FORMATS[kind][0]


def decode_registers(words: Sequence[int], kind: str, word_order: str = "big") -> float:
    count, fmt = _FORMATS[kind]
    if len(words) != count:
        raise ValueError(f"{kind} needs {count} registers, got {len(words)}")
    ordered = list(words) if word_order == "big" else list(reversed(words))
    raw = b"".join(w.to_bytes(2, "big") for w in ordered)
    return float(struct.unpack(fmt, raw)[0])


def encode_registers(value: float, kind: str, word_order: str = "big") -> list[int]:
    """The inverse of decode_registers (for simulators and tests)."""
    _count, fmt = _FORMATS[kind]
    raw = struct.pack(fmt, value if kind.startswith("float") else int(value))
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return words if word_order == "big" else list(reversed(words))


T = TypeVar("T")


@dataclass(frozen=True)
class Block(Generic[T]):
    """One read request: `count` registers from `start`, covering `items` (address, size, item)."""

    start: int
    count: int
    items: tuple[tuple[int, int, T], ...]


def plan_blocks(
    spans: Sequence[tuple[int, int, T]], max_gap: int = 8, max_count: int = MAX_REGISTERS_PER_READ
) -> list[Block[T]]:
    """Group (address, size, item) spans into as few reads as the gap and size limits allow."""
    blocks: list[Block[T]] = []
    current: list[tuple[int, int, T]] = []
    start = end = 0
    for span in sorted(spans, key=lambda s: s[0]):
        address, size, _ = span
        if current and address - end <= max_gap and address + size - start <= max_count:
            current.append(span)
            end = max(end, address + size)
            continue
        if current:
            blocks.append(Block(start, end - start, tuple(current)))
        current, start, end = [span], address, address + size
    if current:
        blocks.append(Block(start, end - start, tuple(current)))
    return blocks
