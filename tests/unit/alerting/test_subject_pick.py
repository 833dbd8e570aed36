"""An event's subjects found by id among a rule's (services/alerting/evaluator.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.alerting.evaluator import _pick


@dataclass(frozen=True)
class Subject:
    id: int


def test_wanted_ids_pick_the_rules_subjects_in_order_of_id() -> None:
    subjects = [Subject(i) for i in (2, 5, 9, 40)]
    ids = np.array([s.id for s in subjects], dtype=np.int64)
    assert _pick(subjects, ids, {40, 5}) == [Subject(5), Subject(40)]
    # ids the rule does not cover, below, between and above its own, are left out
    assert _pick(subjects, ids, {1, 3, 9, 41}) == [Subject(9)]
    assert _pick(subjects, ids, set()) == []
    assert _pick([], np.zeros(0, np.int64), {1, 2}) == []
