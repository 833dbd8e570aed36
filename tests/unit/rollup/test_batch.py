import pytest

from services.rollup.batch import BatchSizer


def test_a_full_claim_done_quickly_grows_the_next_by_at_most_the_growth_factor() -> None:
    sizer = BatchSizer(min_points=500, max_points=100_000, target_s=10.0, growth=4.0)
    sizer.observe(claimed=500, seconds=0.5)  # 1,000 points/s: 10,000 would fit in 10 s
    assert sizer.size == 2_000
    sizer.observe(claimed=2_000, seconds=1.0)
    assert sizer.size == 8_000
    sizer.observe(claimed=8_000, seconds=4.0)  # 2,000 points/s: 20,000 fit, 32,000 allowed
    assert sizer.size == 20_000


def test_the_claim_stays_within_its_bounds() -> None:
    sizer = BatchSizer(min_points=100, max_points=1_000, target_s=10.0)
    for _ in range(5):
        sizer.observe(claimed=sizer.size, seconds=0.01)
    assert sizer.size == 1_000
    sizer.observe(claimed=1_000, seconds=1_000.0)  # 1 point/s: 10 would fit
    assert sizer.size == 100


def test_a_pass_that_emptied_the_queue_does_not_grow_the_claim() -> None:
    sizer = BatchSizer(min_points=500, target_s=10.0)
    sizer.observe(claimed=20, seconds=0.01)
    assert sizer.size == 500


def test_a_slow_pass_shrinks_the_claim_even_when_it_emptied_the_queue() -> None:
    sizer = BatchSizer(min_points=10, target_s=10.0)
    sizer.observe(claimed=10, seconds=0.1)
    assert sizer.size == 40
    sizer.observe(claimed=30, seconds=20.0)  # 1.5 points/s: 15 fit in 10 s
    assert sizer.size == 15


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        BatchSizer(min_points=10, max_points=5)
    with pytest.raises(ValueError):
        BatchSizer(target_s=0)
