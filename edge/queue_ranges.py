"""Sorted, merged, inclusive ranges of queue row ids.

The queue keeps here the readings whose delivery is confirmed but whose delete failed (disk
full): they are skipped when reading the queue and deleted again later, so the publisher does
not send them over and over.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator


class IdRanges:
    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, first: int, last: int) -> None:
        if last < first:
            return
        # Every range that overlaps or touches [first, last] is merged into it.
        lo = bisect.bisect_left(self._ends, first - 1)
        hi = bisect.bisect_right(self._starts, last + 1)
        if lo < hi:
            first = min(first, self._starts[lo])
            last = max(last, self._ends[hi - 1])
        self._starts[lo:hi] = [first]
        self._ends[lo:hi] = [last]

    def __contains__(self, id_: object) -> bool:
        if not isinstance(id_, int):
            return False
        i = bisect.bisect_right(self._starts, id_) - 1
        return i >= 0 and id_ <= self._ends[i]

    def skip(self, after: int) -> int:
        """The largest cursor c >= after such that c + 1 is not in a range (for `id > c`)."""
        i = bisect.bisect_right(self._starts, after + 1) - 1
        if i >= 0 and after + 1 <= self._ends[i]:
            return self._ends[i]
        return after

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self._starts, self._ends, strict=True))

    def __len__(self) -> int:
        return len(self._starts)

    def clear(self) -> None:
        self._starts.clear()
        self._ends.clear()
