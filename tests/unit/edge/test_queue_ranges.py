"""The confirmed-id ranges the queue skips while their delete waits (pure logic)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from edge.queue_ranges import IdRanges


def test_touching_and_overlapping_ranges_merge() -> None:
    r = IdRanges()
    r.add(10, 19)
    r.add(30, 39)
    r.add(20, 29)  # touches both
    assert list(r) == [(10, 39)]
    r.add(5, 12)
    r.add(50, 50)
    assert list(r) == [(5, 39), (50, 50)]
    assert 5 in r and 39 in r and 50 in r
    assert 4 not in r and 40 not in r and 49 not in r


def test_skip_jumps_over_a_range_that_starts_right_after_the_cursor() -> None:
    r = IdRanges()
    r.add(11, 20)
    assert r.skip(10) == 20  # ids 11..20 are confirmed: continue after 20
    assert r.skip(9) == 9  # id 10 is not confirmed
    assert r.skip(15) == 20
    assert r.skip(20) == 20
    r.clear()
    assert r.skip(10) == 10 and len(r) == 0


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 30)), max_size=30))
def test_membership_matches_a_plain_set(spans: list[tuple[int, int]]) -> None:
    r = IdRanges()
    plain: set[int] = set()
    for first, length in spans:
        r.add(first, first + length)
        plain.update(range(first, first + length + 1))
    assert [i for i in range(-1, 240) if i in r] == sorted(plain)
    ranges = list(r)
    # sorted, disjoint and never touching (touching ones are merged)
    assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(ranges))
    for cursor in range(-1, 240):
        nxt = r.skip(cursor) + 1
        assert nxt not in plain and all(i in plain for i in range(cursor + 1, nxt))
