"""What the status message says about the queue: warnings an operator can act on."""

from __future__ import annotations

from edge.queue import DurableQueue


def queue_warnings(queue: DurableQueue, warn_fill: float) -> list[str]:
    out = []
    if queue.fill >= warn_fill:
        out.append(f"queue {queue.fill:.0%} full (capacity {queue.capacity} readings)")
    dropped = queue.dropped_by_reason
    if dropped["capacity"]:
        out.append(f"queue full: {dropped['capacity']} oldest readings dropped")
    if queue.disk_full:
        out.append("disk full now: new readings are dropped until space is freed")
    if dropped["disk_full"]:
        out.append(f"disk full: {dropped['disk_full']} readings could not be stored")
    if queue.pending_deletes:
        out.append(f"disk full: {queue.pending_deletes} delivered readings wait to be deleted")
    out += [incident.message for incident in queue.incidents]
    return out
