from services.rollup.plan import Span, by_deletion, clip, dirty_runs, merge, split, widen

B = 900_000


def test_runs_join_buckets_closer_than_the_gap() -> None:
    assert dirty_runs([0, B, 5 * B, 3 * B], max_gap=0) == [
        (0, 2 * B),
        (3 * B, 4 * B),
        (5 * B, 6 * B),
    ]
    assert dirty_runs([0, B, 5 * B, 3 * B], max_gap=2 * B) == [(0, 6 * B)]


def test_widen_reaches_the_buckets_of_the_neighbouring_readings() -> None:
    # previous reading 20 min before the run, next one 1 min after its end
    assert widen(4 * B, 5 * B, 4 * B - 20 * 60_000, 5 * B + 60_000) == (2 * B, 6 * B)
    # a reading exactly on a bucket edge closes the bucket before it: the next one's, and,
    # with no previous reading, one on the run's first edge
    assert widen(4 * B, 5 * B, None, 7 * B) == (3 * B, 7 * B)
    assert widen(4 * B, 5 * B, None, None) == (3 * B, 5 * B)


def test_merge_joins_overlapping_or_touching_spans_of_one_point() -> None:
    spans = [Span(1, 0, 2 * B), Span(2, 0, B), Span(1, 2 * B, 3 * B), Span(1, 5 * B, 6 * B)]
    assert merge(spans) == [Span(1, 0, 3 * B), Span(1, 5 * B, 6 * B), Span(2, 0, B)]


def test_split_cuts_adjacent_pieces() -> None:
    assert split(Span(1, 0, 5 * B), 2 * B) == [
        Span(1, 0, 2 * B),
        Span(1, 2 * B, 4 * B),
        Span(1, 4 * B, 5 * B),
    ]


def test_spans_reaching_a_compressed_chunk_are_deleted_one_statement_each() -> None:
    chunk = (1_000 * B, 2_000 * B)
    old, live, later = (
        Span(1, 1_500 * B, 1_510 * B),
        Span(2, 3_000 * B, 3_004 * B),
        Span(3, 3_100 * B, 3_101 * B),
    )
    assert by_deletion([live, later], [chunk]) == ([live, later], [])
    assert by_deletion([old, live, later], []) == ([old, live, later], [])
    # the live spans' hull stays clear of the chunk: they still share one statement
    assert by_deletion([old, live, later], [chunk]) == ([live, later], [old])
    # a hull that reaches over a compressed chunk would make the shared statement reach it
    around = Span(4, 500 * B, 501 * B)
    assert by_deletion([around, live], [chunk]) == ([], [around, live])


def test_clip_keeps_only_buckets_from_the_horizon_on() -> None:
    spans = [Span(1, 0, 10 * B), Span(2, 20 * B, 30 * B), Span(3, 0, 2 * B)]
    assert clip(spans, None) == spans
    assert clip(spans, 5 * B) == [Span(1, 5 * B, 10 * B), Span(2, 20 * B, 30 * B)]
