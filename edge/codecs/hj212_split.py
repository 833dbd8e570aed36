"""Reassembly of split HJ 212 packets (Flag bit D; PNUM packets numbered PNO = 1..PNUM).

The parts of one upload share QN, MN and CN. A part's CP may end at a group boundary
(`...a21026-Flag=N` then `a21002-Rtd=...`): parts are joined with `;` unless one of them
already ends or starts with a separator, so a group cut at its boundary is not glued to the
next one. Uploads whose parts stop coming are dropped after `max_age_s`, or the oldest when
more than `max_pending` are open, and reported so the driver can count them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from edge.codecs import FrameError
from edge.codecs.hj212 import FLAG_SPLIT, Packet

MAX_PARTS = 9999

Key = tuple[str, str, int]  # MN, QN, CN


@dataclass
class _Open:
    total: int
    started: float
    parts: dict[int, Packet] = field(default_factory=dict)


class SplitPackets:
    def __init__(
        self,
        max_pending: int = 64,
        max_age_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_pending = max_pending
        self.max_age_s = max_age_s
        self._clock = clock
        self._open: dict[Key, _Open] = {}

    def add(self, packet: Packet) -> tuple[Packet | None, list[Key]]:
        """(the whole upload once its last part arrived, else None; uploads given up)."""
        total, number = _numbers(packet)
        now = self._clock()
        expired = [k for k, o in self._open.items() if now - o.started > self.max_age_s]
        for k in expired:
            del self._open[k]
        key = (packet.mn, packet.qn, packet.cn)
        entry = self._open.get(key)
        if entry is None or entry.total != total:
            entry = self._open[key] = _Open(total, now)
        entry.parts[number] = packet
        while len(self._open) > self.max_pending:
            oldest = next(iter(self._open))
            del self._open[oldest]
            expired.append(oldest)
        if len(entry.parts) < total:
            return None, expired
        del self._open[key]
        cp = ""
        for i in range(1, total + 1):
            cp = _join(cp, entry.parts[i].cp)
        first = entry.parts[1]
        return replace(first, cp=cp, flag=first.flag & ~FLAG_SPLIT), expired


def _numbers(packet: Packet) -> tuple[int, int]:
    pnum, pno = packet.fields.get("PNUM", ""), packet.fields.get("PNO", "")
    if not (pnum.isdigit() and pno.isdigit()):
        raise FrameError("split", f"split packet with PNUM={pnum!r}, PNO={pno!r}")
    total, number = int(pnum), int(pno)
    if not 1 <= number <= total <= MAX_PARTS:
        raise FrameError("split", f"PNO={number} of PNUM={total}")
    return total, number


def _join(left: str, right: str) -> str:
    if not left or not right or left[-1] in ";," or right[0] in ";,":
        return left + right
    return f"{left};{right}"
