"""Which edition of a dated reference row judges a given day (pure Python).

Reference rows carry the first day they apply (`valid_from`). A day is judged by the latest
edition whose `valid_from` is not after it; a day before every edition by the earliest one,
the best known value (as the standard-coal coefficients do, energywatch/core/coefficients.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, TypeVar


class Dated(Protocol):
    @property
    def valid_from(self) -> date: ...


D = TypeVar("D", bound=Dated)


def in_force(editions: Iterable[D], on: date) -> D | None:
    """The edition that judges `on`, None when there is none at all."""
    rows = list(editions)
    started = [r for r in rows if r.valid_from <= on]
    if started:
        return max(started, key=lambda r: r.valid_from)
    return min(rows, key=lambda r: r.valid_from, default=None)
