import numpy as np

from services.rollup.compute import Rows
from services.rollup.plan import Span
from services.rollup.store import short_spans

Q = 900_000


def rows(point_bucket: list[tuple[int, int]]) -> Rows:
    n = len(point_bucket)
    zeros = np.zeros(n)
    return Rows(
        np.array([p for p, _ in point_bucket], dtype=np.int64),
        np.array([b for _, b in point_bucket], dtype=np.int64),
        zeros,
        zeros,
        zeros,
        zeros,
    )


def test_spans_without_a_row_for_some_bucket_are_short() -> None:
    spans = [
        Span(7, 10 * Q, 12 * Q),  # both buckets written
        Span(3, 0, 3 * Q),  # the middle bucket missing
        Span(7, 0, Q),  # the same point earlier: nothing written
        Span(2**31 - 1, 5 * Q, 6 * Q),  # the largest point id
    ]
    written = rows([(7, 10 * Q), (7, 11 * Q), (3, 0), (3, 2 * Q), (2**31 - 1, 5 * Q)])
    assert short_spans(spans, written) == [1, 2]
    assert short_spans([], rows([])) == []
