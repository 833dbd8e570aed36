"""Every route, walked as an operator of another enterprise and as a regulator of another
region: a resource out of scope answers exactly like one that does not exist, lists never
show it, and nothing out of scope changes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from energywatch.storage.alerting_tables import alert_rules, alerts, silences
from energywatch.storage.engine import make_engine
from energywatch.storage.tables import sites
from tests.integration.api.conftest import login
from tests.integration.api.world import World
from tests.support.clock import local_day

# The victim is enterprise B1 in region 1402; the ghost names things that do not exist.
VICTIM = {"site": "B1", "point": "E01", "division": "1402", "name": "energy.B1"}
GHOST = {"site": "ZZ9", "point": "E01", "division": "1499", "name": "energy.ZZ9"}
# A stream of the caller's whole scope answers 200 and never ends: its content is checked by
# test_live_stream.test_alert_stream_shows_only_the_scope.
NEVER_ENDING = {"/api/v1/alerts/stream"}
LEAK_MARKERS = ('"B1"', "140202", "energy.B1", "Enterprise B1", "B1 E01")


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    ghost_body: Any = None
    form: bool = False


def _query_for(path: str, method: str, world: World) -> dict[str, str]:
    day = local_day(world.now)  # reports and completeness count the sites' local days
    start = (world.now - timedelta(days=1)).isoformat()
    q: dict[str, str] = {}
    if path.endswith(("/readings", "/consumption", "/station")) and "/sites/" in path:
        q = {"start": start, "end": world.now.isoformat()}
    if path.endswith("/station/emissions"):
        q = {"month": day.strftime("%Y-%m")}
    if path.endswith("/completeness") or path.endswith("/regions/{division}/consumption"):
        q = {"start_day": str(day - timedelta(days=1)), "end_day": str(day)}
    if path.endswith("/daily"):
        q = {"day": str(day), "format": "json"}
    if path.endswith(("/energy-flows", "/units/balance")):
        q = {"day": str(day)}
    if path.endswith("/monthly"):
        q = {"month": day.strftime("%Y-%m"), "format": "json"}
    if method == "GET" and path in ("/api/v1/alerts", "/api/v1/silences"):
        q = {"site": "B1"}
    if method == "GET" and path == "/api/v1/sites":
        q = {"q": "B"}
    return q


def _bodies(path: str, method: str, world: World) -> tuple[Any, Any]:
    now = world.now
    if path == "/api/v1/silences" and method == "POST":
        span = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat()}
        return {"site": "B1", **span}, {"site": "ZZ9", **span}
    if path.startswith("/api/v1/rules") and method in ("POST", "PUT"):

        def rule(site: str) -> dict[str, Any]:
            return {
                "name": f"energy.{site}",
                "kind": "energy",
                "select": {"sites": [site]},
                "thresholds": {"warning": 1.0},
            }

        return rule("B1"), rule("ZZ9")
    if path.endswith("/ack"):
        return {"comment": "seen"}, {"comment": "seen"}
    if path == "/api/v1/sites/{site}" and method == "PATCH":
        return {"name": "renamed"}, {"name": "renamed"}
    if path == "/api/v1/users":
        body = {"username": "intruder", "password": "long enough pw", "role": "admin"}
        return body, body
    if path == "/api/v1/auth/api-keys" and method == "POST":
        return {"name": "walk"}, {"name": "walk"}
    if path == "/api/v1/registry":
        return "sites: []\n", "sites: []\n"
    return None, None


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _send(
    client: TestClient,
    headers: dict[str, str],
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
) -> Any:
    kwargs: dict[str, Any] = {"params": query, "headers": dict(headers)}
    if isinstance(body, str):
        kwargs["content"] = body
        kwargs["headers"]["Content-Type"] = "application/yaml"
    elif body is not None:
        kwargs["json"] = body
    return client.request(method, path, **kwargs)


def _normalised(
    response: Any, path: str, victim: dict[str, str], ghost: dict[str, str]
) -> tuple[int, str]:
    """Status and body with the victim's names swapped for the ghost's (only the names this
    route used: the path's parameters, and the site a body names)."""
    keys = [*re.findall(r"\{(\w+)\}", path), "site", "name"]
    text = response.text
    for key in dict.fromkeys(keys):
        text = text.replace(victim[key], ghost[key])
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        body = json.loads(text)
        body.pop("instance", None)
        text = json.dumps(body, sort_keys=True)
    return response.status_code, text


def api_routes(app: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for rc in iter_route_contexts(app.routes):
        path = getattr(rc, "path", "") or ""
        if path.startswith("/api/v1/"):
            out.extend((m, path) for m in sorted(getattr(rc, "methods", None) or ()))
    return out


def _victim_key_id(client: TestClient) -> int:
    owner = login(client, "op_b1")
    r = client.post("/api/v1/auth/api-keys", json={"name": "b1 machine"}, headers=owner)
    assert r.status_code == 201
    return int(r.json()["id"])


def _snapshot(db_url: str) -> dict[str, Any]:
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return {
                "site": dict(
                    conn.execute(sa.select(sites).where(sites.c.code == "B1")).mappings().one()
                ),
                "alert": dict(
                    conn.execute(sa.select(alerts).where(alerts.c.rule == "energy.B1"))
                    .mappings()
                    .one()
                ),
                "rule": dict(
                    conn.execute(sa.select(alert_rules).where(alert_rules.c.name == "energy.B1"))
                    .mappings()
                    .one()
                ),
                "silences": conn.execute(
                    sa.select(sa.func.count()).select_from(silences)
                ).scalar_one(),
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("username", ["op_a1", "reg_a"])
def test_every_route_hides_what_is_out_of_scope(
    client: TestClient, world: World, api_settings: Any, username: str
) -> None:
    key_id = str(_victim_key_id(client))
    victim = {
        **VICTIM,
        "alert_id": str(world.alert_ids["B1"]),
        "silence_id": str(world.silence_ids["B1"]),
        "key_id": key_id,
    }
    ghost = {**GHOST, "alert_id": "999999", "silence_id": "999998", "key_id": "999997"}
    before = _snapshot(api_settings.database.url)
    headers = login(client, username)
    routes = api_routes(client.app)
    assert len(routes) >= 35, routes  # the walk must really see the whole API
    walked = []
    for method, path in routes:
        if path == "/api/v1/auth/token" or path in NEVER_ENDING:
            continue
        query = _query_for(path, method, world)
        body, ghost_body = _bodies(path, method, world)
        r_victim = _send(client, headers, method, _fill(path, victim), query, body)
        assert r_victim.status_code < 500, (method, path, r_victim.text)
        leaks = [m for m in LEAK_MARKERS if m in r_victim.text]
        if "{" in path or body != ghost_body:
            r_ghost = _send(client, headers, method, _fill(path, ghost), query, ghost_body)
            assert _normalised(r_victim, path, victim, ghost) == _normalised(
                r_ghost, path, victim, ghost
            ), (method, path, r_victim.text, r_ghost.text)
            assert r_victim.status_code in (403, 404, 422), (method, path, r_victim.text)
        else:
            assert not leaks, (method, path, r_victim.text[:500])
        walked.append((method, path))
    assert len(walked) == len(routes) - 1 - len(NEVER_ENDING)
    assert _snapshot(api_settings.database.url) == before


def test_the_victim_requests_are_valid_for_the_owner(client: TestClient, world: World) -> None:
    """The same GET requests succeed for B1's own operator: the walk's 404s come from scope."""
    owner = login(client, "op_b1")
    victim = {
        **VICTIM,
        "alert_id": str(world.alert_ids["B1"]),
        "silence_id": str(world.silence_ids["B1"]),
        "key_id": "1",
    }
    for method, path in api_routes(client.app):
        if method != "GET" or path.endswith("/stream") or "{key_id}" in path:
            continue
        if path in ("/api/v1/users", "/api/v1/audit") or "{division}" in path:
            continue  # admin-only, and regions are not an operator's
        r = _send(client, owner, method, _fill(path, victim), _query_for(path, method, world), None)
        assert r.status_code == 200, (path, r.text)
        if path in ("/api/v1/alerts", "/api/v1/silences", "/api/v1/sites"):
            assert "B1" in r.text


def test_regions_are_the_regulators_own(client: TestClient, world: World) -> None:
    reg_b = login(client, "reg_b")
    r = client.get("/api/v1/regions/1402/ranking", headers=reg_b)
    assert r.status_code == 200 and [i["site"] for i in r.json()["items"]] == ["B1"]
    reg_a = login(client, "reg_a")
    r = client.get("/api/v1/regions/1401/ranking", headers=reg_a, params={"by": "tce"})
    assert sorted(i["site"] for i in r.json()["items"]) == ["A1", "A2"]
    # a wider prefix than the regulator's own is not theirs
    assert client.get("/api/v1/regions/14/ranking", headers=reg_a).status_code == 404
    r = client.get("/api/v1/sites", headers=reg_a)
    assert sorted(i["code"] for i in r.json()["items"]) == ["A1", "A2"]
