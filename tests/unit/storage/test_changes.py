"""The payloads that name changed points: compact, each under PostgreSQL's 8000-byte limit,
each decodable on its own."""

from __future__ import annotations

import numpy as np

from energywatch.storage.changes import MAX_PAYLOAD, decode, encode


def test_sorted_differences_in_base_36():
    assert encode([51, 46, 47, 48, 47]) == ["1a,1,1,3"]
    assert decode("1a,1,1,3") == [46, 47, 48, 51]


def test_nothing_changed_sends_nothing():
    assert encode([]) == []
    assert decode("") == []


def test_a_large_batch_splits_into_payloads_that_each_decode_alone():
    rng = np.random.default_rng(7)
    ids = rng.choice(2_000_000, size=60_000, replace=False)
    payloads = encode(ids)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD < 8000 for p in payloads)
    decoded = [decode(p) for p in payloads]
    assert sorted(i for part in decoded for i in part) == sorted(ids.tolist())
    assert all(part == sorted(part) for part in decoded)


def test_a_notification_names_about_3_900_consecutive_points():
    assert len(encode(range(100_000, 103_900))) == 1  # two bytes a point
    assert len(encode(range(100_000, 104_000))) == 2
