"""The outbox worker: claims due notifications one at a time and delivers them.

A row is claimed with SELECT ... FOR UPDATE SKIP LOCKED inside a transaction that stays open
while the notification is sent; it is marked delivered (and the attempt logged) in that same
transaction after a 2xx. If the process dies mid-send the transaction rolls back, the lock
goes with the session, and the row is sent again later with the same idempotency key: at
most the one notification in flight per worker can reach a receiver twice, and the key lets
the receiver drop it. Several workers may run; SKIP LOCKED keeps them off each other's rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from energywatch.backoff import backoff_s
from services.alerting import metrics
from services.alerting.senders import Outcome, Sender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 2.0
    max_s: float = 600.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after `attempts` failed attempts."""
        return timedelta(seconds=backoff_s(self.base_s, self.max_s, attempts))


class Deliverer:
    def __init__(
        self,
        conn: psycopg.Connection,
        senders: Mapping[str, Sender],
        retry: RetryPolicy | None = None,
    ) -> None:
        self.conn = conn  # autocommit; each claim is one explicit transaction
        self.senders = senders
        self.retry = retry or RetryPolicy()

    def deliver_one(self) -> bool:
        """Deliver (or fail) one due notification; False when none is due."""
        with self.conn.transaction():
            row = self.conn.execute(
                "SELECT id, idempotency_key, channel, target, payload, attempts "
                "FROM notification_outbox WHERE status = 'pending' AND next_attempt_at <= now() "
                "ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if row is None:
                return False
            outbox_id, key, channel, target, payload, attempts = row
            sender = self.senders.get(channel)
            started = time.perf_counter()
            if sender is None:
                outcome = Outcome(False, None, f"no sender for channel {channel}", final=True)
            else:
                try:
                    outcome = sender.send(target, key, payload)
                except Exception as exc:  # a sender bug must not wedge the outbox
                    log.exception("sender %s failed", channel)
                    outcome = Outcome(False, None, f"{type(exc).__name__}: {exc}")
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.conn.execute(
                "INSERT INTO notification_deliveries (outbox_id, ok, status_code, error, "
                "duration_ms) VALUES (%s, %s, %s, %s, %s)",
                (outbox_id, outcome.ok, outcome.status_code, outcome.error, elapsed_ms),
            )
            attempts += 1
            if outcome.ok:
                self.conn.execute(
                    "UPDATE notification_outbox SET status = 'delivered', delivered_at = now(), "
                    "attempts = %s, last_error = NULL WHERE id = %s",
                    (attempts, outbox_id),
                )
                metrics.NOTIFICATIONS.labels(channel).inc()
            else:
                metrics.NOTIFICATION_FAILURES.labels(channel).inc()
                give_up = outcome.final or attempts >= self.retry.max_attempts
                if give_up:
                    metrics.NOTIFICATIONS_GIVEN_UP.labels(channel).inc()
                    log.error("notification %s to %s given up: %s", key, target, outcome.error)
                self.conn.execute(
                    "UPDATE notification_outbox SET status = %s, attempts = %s, last_error = %s, "
                    "next_attempt_at = now() + %s WHERE id = %s",
                    (
                        "failed" if give_up else "pending",
                        attempts,
                        outcome.error,
                        self.retry.delay(attempts),
                        outbox_id,
                    ),
                )
        return True

    def deliver_due(self, limit: int = 1000) -> int:
        done = 0
        while done < limit and self.deliver_one():
            done += 1
        return done

    def pending(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM notification_outbox WHERE status = 'pending'"
        ).fetchone()
        count = int(row[0]) if row else 0
        metrics.OUTBOX_PENDING.set(count)
        return count
