"""The bucket ring's kernels (energywatch/core/ring.py)."""

from __future__ import annotations

import numpy as np

from energywatch.core import ring


def test_shares_sum_within_the_stated_step_and_empty_slots_count_nothing():
    rng = np.random.default_rng(7)
    n_slots, head = 12, 1_000
    shares = np.full((3, n_slots), ring.NO_SHARE, np.uint16)
    truth = rng.uniform(0.0, 1.0, (3, n_slots))  # by slot: slot s holds the bucket b % 12 == s
    shares[:2] = ring.to_shares(truth[:2])  # row 2 has no rows at all
    rows = np.array([0, 1, 2, -1], dtype=np.int64)
    got = ring.share_sums(shares, rows, head - 5, head + 1, head)
    want = truth[:2, (np.arange(head - 5, head + 1)) % n_slots].sum(axis=1)
    assert np.all(np.abs(got[:2] - want) <= 6 * 0.5 / ring.SHARE_SCALE)
    assert got[2] == 0.0 and got[3] == 0.0
    # Past the head and before the oldest bucket the ring holds nothing.
    assert ring.share_sums(shares, rows[:1], head + 1, head + 50, head)[0] == 0.0
    assert ring.to_shares([1.7, -0.2]).tolist() == [ring.SHARE_SCALE, 0]


def test_advancing_the_head_empties_the_slots_it_passes():
    values = np.ones((1, 2, 4))
    ring.clear_slots(values, 10, 12)  # buckets 11 and 12 -> slots 3 and 0
    assert np.isnan(values[0, :, [3, 0]]).all() and (values[0, :, [1, 2]] == 1).all()
    shares = np.zeros((2, 4), np.uint16)
    ring.clear_slots(shares, 10, 20)  # a whole turn: everything
    assert (shares == ring.NO_SHARE).all()
