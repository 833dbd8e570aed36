"""Security of the API against the real database: webhook targets of stored rules, the login
limit under concurrency, the client address behind proxies, API keys that mint keys, and the
security headers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from energywatch.settings import AlertingSettings, DatabaseSettings, Settings
from energywatch.storage.api_tables import audit_log
from energywatch.storage.engine import make_engine
from services.api.app import create_app
from services.api.security_headers import CONTENT_SECURITY_POLICY
from services.demo.broker import free_port
from tests.integration.api.conftest import login
from tests.integration.api.world import PASSWORD, World

REPO = Path(__file__).resolve().parents[3]


def _rule(webhook: str, name: str = "power.a1") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "power",
        "select": {"sites": ["A1"]},
        "thresholds": {"critical": 1000},
        "recipients": [{"webhook": webhook}],
    }


def test_a_rule_may_not_send_webhooks_to_internal_addresses(
    client: TestClient, world: World
) -> None:
    reg = login(client, "reg_a")
    refused = {
        "http://169.254.169.254/latest/meta-data/": "link-local",
        "http://localhost:8080/admin": "loopback",
        "http://10.1.2.3/hook": "private",
        "https://[::ffff:169.254.169.254]/hook": "link-local",
        "http://0.0.0.0:9/": "unspecified",
    }
    for url, kind in refused.items():
        r = client.post("/api/v1/rules", json=_rule(url), headers=reg)
        assert r.status_code == 422, (url, r.text)
        detail = r.json()["detail"]
        assert "recipients[0].webhook" in detail and f"a {kind} address" in detail, detail
        assert "\n" not in detail
    escalating = {**_rule("https://8.8.8.8/hook"), "escalation": {"after": "1h"}}
    escalating["escalation"]["recipients"] = [{"webhook": "http://127.0.0.1:9/"}]
    r = client.post("/api/v1/rules", json=escalating, headers=reg)
    assert r.status_code == 422 and "escalation.recipients[0].webhook" in r.json()["detail"]
    # A public address is fine, and an update is checked like a creation.
    assert client.post("/api/v1/rules", json=_rule("https://8.8.8.8/hook"), headers=reg).is_success
    r = client.put("/api/v1/rules/power.a1", json=_rule("http://169.254.169.254/"), headers=reg)
    assert r.status_code == 422


def test_allowed_networks_let_a_webhook_reach_a_local_receiver(world_db: tuple[str, World]) -> None:
    settings = Settings(
        demo=True,
        database=DatabaseSettings(url=world_db[0]),
        alerting=AlertingSettings(webhook_allowed_networks=["127.0.0.0/8"]),  # type: ignore[list-item]
    )
    with TestClient(create_app(settings)) as client:
        reg = login(client, "reg_a")
        ok = client.post("/api/v1/rules", json=_rule("http://127.0.0.1:9/hook"), headers=reg)
        assert ok.status_code == 201, ok.text
        other = client.post(
            "/api/v1/rules", json=_rule("http://169.254.169.254/", "p2"), headers=reg
        )
        assert other.status_code == 422


def test_concurrent_wrong_passwords_check_at_most_the_limit(
    server: str, api_app: FastAPI, api_settings: Settings, world: World
) -> None:
    """100 wrong passwords for one user sent at once to a real uvicorn: the server checks at
    most `login_max_failures` of them (counted where Argon2 runs), the rest answer 429."""
    limit = api_settings.api.login_max_failures
    registry = api_app.state.metrics.registry

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as http:
            answers = await asyncio.gather(
                *(
                    http.post(
                        "/api/v1/auth/token", data={"username": "reg_a", "password": f"guess{i}"}
                    )
                    for i in range(100)
                )
            )
        return [a.status_code for a in answers]

    statuses = asyncio.run(burst())
    checked = registry.get_sample_value("energywatch_api_password_checks_total")
    assert checked is not None and checked <= limit, f"{checked} passwords checked"
    assert statuses.count(401) == checked and statuses.count(429) == 100 - checked
    # Even the right password is not checked now.
    right = httpx.post(
        f"{server}/api/v1/auth/token", data={"username": "reg_a", "password": PASSWORD}
    )
    assert right.status_code == 429
    assert registry.get_sample_value("energywatch_api_password_checks_total") == checked


def test_a_good_login_is_not_counted_as_a_failure(client: TestClient, world: World) -> None:
    for _ in range(10):  # more than the limit of 5 failures
        login(client, "op_a1")


def _audit_clients(db_url: str, username: str) -> list[str]:
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(audit_log.c.client)
                    .where(audit_log.c.username == username)
                    .order_by(audit_log.c.id)
                ).scalars()
            )
    finally:
        engine.dispose()


@contextlib.contextmanager
def api_process(env: dict[str, str]) -> Iterator[str]:
    """`energywatch api` as its own process, as it runs in production."""
    port = free_port()
    command = [str(REPO / ".venv/bin/energywatch"), "api"]
    if not Path(command[0]).exists():
        command = [sys.executable, "-m", "energywatch", "api"]
    proc = subprocess.Popen(
        command,
        env={**os.environ, **env, "ENERGYWATCH_API__PORT": str(port)},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the API exited"
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the API did not answer"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(world_db: tuple[str, World]) -> None:
    db_url = world_db[0]
    env = {
        "ENERGYWATCH_DEMO": "1",
        "ENERGYWATCH_DATABASE__URL": db_url,
        "ENERGYWATCH_LOG_LEVEL": "WARNING",
        "ENERGYWATCH_API__TRUSTED_PROXIES": '["127.0.0.2"]',
        "ENERGYWATCH_API__LOGIN_MAX_FAILURES_PER_CLIENT": "3",
    }
    # The proxy: connections from 127.0.0.2 (a loopback address, so no network is needed).
    proxy = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    direct = httpx.Client()

    def attempt(http: httpx.Client, url: str, user: str, forwarded: str) -> int:
        data = {"username": user, "password": "wrong"}
        headers = {"X-Forwarded-For": forwarded}
        return http.post(f"{url}/api/v1/auth/token", data=data, headers=headers).status_code

    with proxy, direct, api_process(env) as url:
        # Anyone may write the header: from a peer that is no trusted proxy it is ignored,
        # by uvicorn too.
        assert attempt(direct, url, "u0", "198.51.100.7") == 401
        assert _audit_clients(db_url, "u0") == ["127.0.0.1"]
        # Through the proxy, the nearest address it did not add itself is the client's.
        assert attempt(proxy, url, "u1", "203.0.113.1, 198.51.100.8") == 401
        assert _audit_clients(db_url, "u1") == ["198.51.100.8"]
        # The per-client limit (3 here) counts that client, not the proxy.
        assert attempt(proxy, url, "u2", "198.51.100.8") == 401
        assert attempt(proxy, url, "u3", "198.51.100.8") == 401
        assert attempt(proxy, url, "u4", "198.51.100.8") == 429
        assert attempt(proxy, url, "u5", "198.51.100.9") == 401
        # A direct caller cannot escape its own count by writing the header.
        assert attempt(direct, url, "u6", "198.51.100.10") == 401
        assert attempt(direct, url, "u7", "198.51.100.11") == 401
        assert attempt(direct, url, "u8", "198.51.100.12") == 429


def test_an_api_key_cannot_create_api_keys(client: TestClient, world: World) -> None:
    session = login(client, "op_a1")
    created = client.post("/api/v1/auth/api-keys", json={"name": "scada"}, headers=session)
    assert created.status_code == 201
    machine = {"X-API-Key": created.json()["key"]}
    minted = client.post("/api/v1/auth/api-keys", json={"name": "another"}, headers=machine)
    assert minted.status_code == 403
    assert minted.json()["detail"].startswith("an API key cannot create API keys")
    listed = client.get("/api/v1/auth/api-keys", headers=session).json()
    assert [k["name"] for k in listed["items"]] == ["scada"]


def test_security_headers_on_pages_and_api_answers(client: TestClient, world: World) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "no-store" not in page.headers.get("cache-control", "")  # static files may be cached
    token = client.post("/api/v1/auth/token", data={"username": "op_a1", "password": PASSWORD})
    assert token.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for answer in (
        client.get("/api/v1/auth/me", headers=bearer),
        client.get("/api/v1/sites/B1", headers=bearer),  # errors too
        client.get("/api/v1/sites"),
    ):
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
