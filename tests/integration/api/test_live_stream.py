"""The live stream, served by a real uvicorn: a reading stored after the client connected
arrives as a `readings` event within seconds, and a new alert as an `alert` event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from energywatch.settings import Settings
from energywatch.storage.alerting_tables import alerts
from energywatch.storage.engine import make_engine
from energywatch.storage.tables import readings
from services.api.principal import Principal
from services.api.tokens import issue_stream_ticket
from tests.integration.api.world import PASSWORD, World


def _token(http: httpx.Client, username: str) -> str:
    answer = http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return str(answer.json()["access_token"])


def _ticket(http: httpx.Client, token: str) -> dict[str, str]:
    """Query parameters that open one stream, as the dashboard's EventSource sends them."""
    answer = http.post("/api/v1/auth/stream-ticket", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return {"ticket": answer.json()["ticket"]}


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: ") and event:
            yield event, json.loads(line[len("data: ") :])
            event = None


def test_stream_delivers_new_readings_and_alerts(
    server: str, world: World, api_settings: Settings, metrics_url: str
) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        token = _token(http, "op_a1")
        assert http.get("/api/v1/sites/B1/stream", params=_ticket(http, token)).status_code == 404
        engine = make_engine(api_settings.database.url, pool_size=1)
        try:
            with http.stream(
                "GET", "/api/v1/sites/A1/stream", params=_ticket(http, token)
            ) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                events = _events(response.iter_lines())
                kind, hello = next(events)
                assert kind == "hello" and "E01" in hello["points"]
                stored_at = time.monotonic()
                ts = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
                with engine.begin() as conn:
                    conn.execute(
                        readings.insert().values(
                            point_id=world.point_ids[("A1", "W01")], ts=ts, value=777.5, quality=0
                        )
                    )
                    # B1's reading must never show on A1's stream
                    conn.execute(
                        readings.insert().values(
                            point_id=world.point_ids[("B1", "W01")], ts=ts, value=999.0, quality=0
                        )
                    )
                kind, data = next(events)
                latency = time.monotonic() - stored_at
                assert kind == "readings"
                assert data["readings"] == [
                    {"point": "W01", "ts": ts.isoformat(), "v": 777.5, "q": 0}
                ]
                assert latency < 3.0
                with engine.begin() as conn:
                    conn.execute(
                        alerts.insert().values(
                            rule="power.A1",
                            kind="power",
                            subject="point:A1/W01",
                            site_id=world.site_ids["A1"],
                            point_id=world.point_ids[("A1", "W01")],
                            state="pending",
                            severity="critical",
                            value=777.5,
                            threshold=700.0,
                            unit="kW",
                            started_at=datetime.now(UTC) + timedelta(seconds=1),
                        )
                    )
                kind, data = next(events)
                assert kind == "alert"
                assert (data["rule"], data["state"], data["point"]) == (
                    "power.A1",
                    "pending",
                    "W01",
                )
        finally:
            engine.dispose()
        metrics = http.get(metrics_url).text
        assert "energywatch_api_live_streams" in metrics
        assert 'route="/api/v1/sites/{site}/stream"' in metrics


def test_readings_from_a_late_device_are_not_skipped(
    server: str, world: World, api_settings: Settings
) -> None:
    """Cursors are per point: a reading older than another point's newest still arrives."""
    with httpx.Client(base_url=server, timeout=10) as http:
        token = _token(http, "op_a1")
        engine = make_engine(api_settings.database.url, pool_size=1)
        try:
            with http.stream(
                "GET", "/api/v1/sites/A1/stream", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                events = _events(response.iter_lines())
                next(events)
                now = datetime.now(UTC).replace(microsecond=0)
                with engine.begin() as conn:
                    conn.execute(
                        readings.insert().values(
                            point_id=world.point_ids[("A1", "W01")],
                            ts=now + timedelta(seconds=5),
                            value=1.0,
                            quality=0,
                        )
                    )
                first = next(events)[1]["readings"]
                with engine.begin() as conn:
                    conn.execute(
                        readings.insert().values(
                            point_id=world.point_ids[("A1", "E01")],
                            ts=now + timedelta(seconds=2),
                            value=2.0,
                            quality=0,
                        )
                    )
                second = next(events)[1]["readings"]
        finally:
            engine.dispose()
    assert [r["point"] for r in first] == ["W01"]
    assert [(r["point"], r["v"]) for r in second] == [("E01", 2.0)]


def test_a_reading_stamped_before_the_connection_but_stored_after_it_arrives(
    server: str, world: World, api_settings: Settings
) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        token = _token(http, "op_a1")
        engine = make_engine(api_settings.database.url, pool_size=1)
        try:
            with http.stream(
                "GET", "/api/v1/sites/A1/stream", params=_ticket(http, token)
            ) as response:
                events = _events(response.iter_lines())
                next(events)
                ts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
                with engine.begin() as conn:
                    conn.execute(
                        readings.insert().values(
                            point_id=world.point_ids[("A1", "W01")], ts=ts, value=5.0, quality=0
                        )
                    )
                kind, data = next(events)
        finally:
            engine.dispose()
    assert kind == "readings" and data["readings"][0]["ts"] == ts.isoformat()


def test_alert_stream_shows_only_the_scope(
    server: str, world: World, api_settings: Settings
) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        token = _token(http, "reg_a")
        engine = make_engine(api_settings.database.url, pool_size=1)
        try:
            with http.stream(
                "GET", "/api/v1/alerts/stream", params=_ticket(http, token)
            ) as response:
                assert response.status_code == 200
                events = _events(response.iter_lines())
                assert next(events)[0] == "hello"
                started = datetime.now(UTC) + timedelta(seconds=1)
                with engine.begin() as conn:
                    # B1's alert is older, so a leak would show it first
                    for site, delay in (("B1", 0), ("A2", 100)):
                        conn.execute(
                            alerts.insert().values(
                                rule=f"silent.{site}",
                                kind="silent",
                                subject=f"point:{site}/E01",
                                site_id=world.site_ids[site],
                                point_id=world.point_ids[(site, "E01")],
                                state="pending",
                                severity="warning",
                                value=20.0,
                                threshold=15.0,
                                unit="min",
                                started_at=started + timedelta(milliseconds=delay),
                            )
                        )
                kind, data = next(events)
        finally:
            engine.dispose()
    assert kind == "alert" and data["site"] == "A2" and data["rule"] == "silent.A2"


def test_a_stream_ticket_opens_a_stream_and_nothing_else(
    server: str, world: World, api_settings: Settings
) -> None:
    secret = api_settings.api.secret_key.get_secret_value()
    with httpx.Client(base_url=server, timeout=10) as http:
        token = _token(http, "op_a1")
        ticket = _ticket(http, token)
        with http.stream("GET", "/api/v1/sites/A1/stream", params=ticket) as response:
            assert response.status_code == 200
        # not a bearer token for anything else, and a session token is not a ticket
        bearer = {"Authorization": f"Bearer {ticket['ticket']}"}
        assert http.get("/api/v1/sites/A1", headers=bearer).status_code == 401
        assert http.get("/api/v1/sites/A1/stream", params={"ticket": token}).status_code == 401
        # the session token no longer opens a stream from the URL
        assert (
            http.get("/api/v1/sites/A1/stream", params={"access_token": token}).status_code == 401
        )
        op = Principal("op_a1", "operator", ("A1",))
        expired = issue_stream_ticket(op, secret, 60, now=datetime.now(UTC) - timedelta(minutes=5))
        assert http.get("/api/v1/sites/A1/stream", params={"ticket": expired}).status_code == 401
        forged = issue_stream_ticket(op, "another secret", 60)
        assert http.get("/api/v1/sites/A1/stream", params={"ticket": forged}).status_code == 401
        assert http.post("/api/v1/auth/stream-ticket").status_code == 401
