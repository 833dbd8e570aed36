"""The queue's side file: what the agent must remember even if the queue file is lost.

`<queue>.state` holds the queue's identity, the reserved message sequence number, the newest
row id and whether the queue is open. With it the agent notices a queue file that vanished,
was emptied or lost its write-ahead log, and the sequence number never goes back to 0.
It is written rarely (at open, at close, once per reserved block of sequence numbers) and
atomically (temporary file, fsync, rename).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("edge.queue")


@dataclass(frozen=True, slots=True)
class SidecarState:
    queue_id: int
    seq_reserved: int
    last_id: int
    open: bool  # true from open to a clean close: still true at start means an unclean stop


class QueueSidecar:
    def __init__(self, queue_path: Path) -> None:
        self.path = queue_path.with_name(queue_path.name + ".state")

    def load(self) -> SidecarState | None:
        """The saved state; None if there is none (first start) or it cannot be read."""
        try:
            raw = json.loads(self.path.read_text())
            return SidecarState(
                queue_id=int(raw["queue_id"]),
                seq_reserved=int(raw["seq_reserved"]),
                last_id=int(raw["last_id"]),
                open=bool(raw["open"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("queue side file %s unreadable (%s); starting without it", self.path, exc)
            return None

    def save(self, state: SidecarState) -> bool:
        """Write atomically; False (logged) if the disk refuses, e.g. when it is full."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "w") as f:
                json.dump(asdict(state), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("cannot write queue side file %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)  # a full disk must not keep a half-written copy
            return False
        return True
