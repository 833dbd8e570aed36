"""Dates at the ends of what the types allow are refused with 422, never a server error."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.api.conftest import login
from tests.integration.api.world import World

FAR_MOMENTS = ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")
FAR_DAYS = ("0001-01-01", "9999-12-31")


def _requests() -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    for a in FAR_MOMENTS:
        for b in FAR_MOMENTS:
            out += [
                ("/api/v1/sites/A1/points/E01/readings", {"start": a, "end": b}),
                ("/api/v1/sites/A1/consumption", {"start": a, "end": b}),
                ("/api/v1/sites/A1/intensity", {"start": a, "end": b}),
            ]
        out += [("/api/v1/sites/A1/intensity", {"end": a}), ("/api/v1/alerts", {"since": a})]
    for d in FAR_DAYS:
        out += [
            ("/api/v1/sites/A1/completeness", {"start_day": d, "end_day": d}),
            ("/api/v1/regions/1401/ranking", {"day": d}),
            ("/api/v1/regions/1401/ranking", {"period": "month", "month": d[:7]}),
            ("/api/v1/regions/1401/consumption", {"start_day": "2020-01-01", "end_day": d}),
            ("/api/v1/reports/sites/A1/daily", {"day": d}),
            ("/api/v1/reports/regions/1401/daily", {"day": d}),
            ("/api/v1/reports/sites/A1/monthly", {"month": d[:7]}),
            ("/api/v1/sites/A1/budget", {"year": d[:4]}),
        ]
    return out


def test_far_dates_are_client_errors(client: TestClient, world: World) -> None:
    headers = login(client, "admin")
    answers = {}
    for path, params in _requests():
        r = client.get(path, params=params, headers=headers)
        assert r.status_code < 500, (path, params, r.text)
        answers[(path, tuple(params.items()))] = r.status_code
    # the far ranges are refused, not silently answered
    assert (
        answers[
            (
                "/api/v1/sites/A1/points/E01/readings",
                (("start", FAR_MOMENTS[0]), ("end", FAR_MOMENTS[1])),
            )
        ]
        == 422
    )
    assert answers[("/api/v1/regions/1401/ranking", (("day", "9999-12-31"),))] == 422


def test_nul_characters_are_client_errors(client: TestClient, world: World) -> None:
    headers = login(client, "admin")
    created = client.post("/api/v1/auth/api-keys", json={"name": "a\x00b"}, headers=headers)
    assert created.status_code == 422
    assert created.headers["content-type"] == "application/problem+json"
    listed = client.get("/api/v1/sites", params={"q": "A\x00"}, headers=headers)
    assert listed.status_code == 422
    acked = client.post(
        f"/api/v1/alerts/{world.alert_ids['A1']}/ack", json={"comment": "\x00"}, headers=headers
    )
    assert acked.status_code == 422
