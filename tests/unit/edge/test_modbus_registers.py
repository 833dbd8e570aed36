from __future__ import annotations

import pytest

from edge.codecs.modbus_registers import decode_registers, encode_registers, plan_blocks


@pytest.mark.parametrize(
    ("words", "kind", "order", "value"),
    [
        ([0x449A, 0x5000], "float32", "big", 1234.5),  # 1234.5 = 0x449A5000
        ([0x5000, 0x449A], "float32", "little", 1234.5),
        ([0xFFFF], "int16", "big", -1),
        ([0xFFFF], "uint16", "big", 65535),
        ([0x0001, 0x0000], "uint32", "big", 65536),
        ([0x0000, 0x0001], "uint32", "little", 65536),
        ([0xFFFF, 0xFFFE], "int32", "big", -2),
        ([0, 0, 0x0002, 0x540B], "uint64", "big", 0x2540B),
        ([0x4024, 0, 0, 0], "float64", "big", 10.0),
    ],
)
def test_decode_hand_built_registers(words: list[int], kind: str, order: str, value: float) -> None:
    assert decode_registers(words, kind, order) == value
    assert encode_registers(value, kind, order) == words


def test_plan_blocks_coalesces_neighbours_and_respects_limits() -> None:
    spans = [(0, 2, "a"), (2, 2, "b"), (10, 1, "c"), (100, 4, "d"), (200, 2, "e")]
    blocks = plan_blocks(spans, max_gap=8, max_count=125)
    assert [(b.start, b.count) for b in blocks] == [(0, 11), (100, 4), (200, 2)]
    assert [i[2] for i in blocks[0].items] == ["a", "b", "c"]
    big = [(i * 2, 2, i) for i in range(100)]  # 200 registers in a row
    assert all(b.count <= 125 for b in plan_blocks(big))
