"""Real receivers for the alerting tests: an HTTP webhook receiver and an SMTP server, plus
helpers that write registry rows and readings straight into the test database."""

from __future__ import annotations

import contextlib
import email
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
from aiosmtpd.controller import Controller

from services.alerting.senders import verify
from services.alerting.webhooks import WebhookPolicy
from services.demo.broker import free_port

SECRET = b"test-webhook-secret"
# The receivers listen on 127.0.0.1, which webhooks may reach only when allowed.
LOCAL_NETWORK = "127.0.0.0/8"
LOCAL_RECEIVERS = WebhookPolicy.allowing([LOCAL_NETWORK])
LOCAL_RECEIVERS_ENV = {"ENERGYWATCH_ALERTING__WEBHOOK_ALLOWED_NETWORKS": f'["{LOCAL_NETWORK}"]'}


@dataclass
class Receiver:
    """Counts every raw delivery and keeps one per idempotency key (what a real consumer
    does with the key). `status` is what it answers; `delay_s` holds each answer back."""

    url: str = ""
    raw: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_signatures: int = 0
    hosts: list[str] = field(default_factory=list)  # Host header of each delivery
    status: int = 200
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(p["event"], p["rule"]) for p in self.by_key.values()]


@contextlib.contextmanager
def webhook_receiver(secret: bytes = SECRET) -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verify(
                secret,
                self.headers["X-EnergyWatch-Timestamp"],
                body,
                self.headers["X-EnergyWatch-Signature"],
            )
            payload = json.loads(body)
            key = self.headers["Idempotency-Key"]
            with receiver.lock:
                receiver.raw.append(payload)
                receiver.hosts.append(self.headers["Host"])
                if not ok:
                    receiver.bad_signatures += 1
                status = receiver.status
            if receiver.delay_s:
                threading.Event().wait(receiver.delay_s)
            if status == 200:
                with receiver.lock:
                    receiver.by_key.setdefault(key, payload)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[email.message.Message] = field(default_factory=list)


@contextlib.contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def add_site(
    conn: psycopg.Connection,
    code: str,
    *,
    division: str = "140100",
    industry: str = "coke",
    energy_budget: float | None = None,
    carbon_budget: float | None = None,
    kind: str = "enterprise",
) -> int:
    row = conn.execute(
        "INSERT INTO sites (code, name, kind, division_code, industry, energy_budget_tce, "
        "carbon_budget_tco2) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (code, code, kind, division, industry, energy_budget, carbon_budget),
    ).fetchone()
    assert row
    conn.execute("INSERT INTO devices (site_id, code) VALUES (%s, 'D1')", (row[0],))
    return int(row[0])


def add_point(
    conn: psycopg.Connection,
    site_id: int,
    code: str,
    measure: str,
    *,
    kind: str = "cumulative",
    role: str = "consumption",
    product: str | None = None,
    unit: str = "kWh",
    created_at: datetime | None = None,
) -> int:
    device = conn.execute("SELECT id FROM devices WHERE site_id = %s", (site_id,)).fetchone()
    assert device
    row = conn.execute(
        "INSERT INTO points (site_id, device_id, code, measure, unit, kind, role, product, "
        "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now())) RETURNING id",
        (site_id, device[0], code, measure, unit, kind, role, product, created_at),
    ).fetchone()
    assert row
    return int(row[0])


def add_readings(
    conn: psycopg.Connection, point_id: int, rows: list[tuple[datetime, float]]
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (point_id, ts, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (point_id, ts) DO UPDATE SET value = excluded.value",
            [(point_id, ts, v) for ts, v in rows],
        )


def add_buckets(
    conn: psycopg.Connection, point_id: int, rows: list[tuple[datetime, float, float, float, float]]
) -> None:
    """(bucket, quantity, tce, tco2, completeness)"""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO consumption_15min (point_id, bucket, quantity, tce, tco2, completeness) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (point_id, bucket) DO UPDATE SET "
            "quantity = excluded.quantity, tce = excluded.tce, tco2 = excluded.tco2, "
            "completeness = excluded.completeness, computed_at = now()",
            [(point_id, *r) for r in rows],
        )


def alert_states(conn: psycopg.Connection, rule: str) -> list[tuple[str, str, str]]:
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT subject, state, severity FROM alerts WHERE rule = %s ORDER BY id", (rule,)
        )
    ]


def open_state(conn: psycopg.Connection, rule: str, subject: str) -> str | None:
    row = conn.execute(
        "SELECT state FROM alerts WHERE rule = %s AND subject = %s "
        "AND state IN ('pending', 'firing')",
        (rule, subject),
    ).fetchone()
    return row[0] if row else None
