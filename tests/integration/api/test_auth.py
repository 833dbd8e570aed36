"""Login, tokens, the rate limit, API keys and the audit of logins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from energywatch.errors import InputError
from energywatch.storage.api_tables import audit_log
from energywatch.storage.engine import make_engine
from services.api.users import add_user
from tests.integration.api.conftest import login
from tests.integration.api.world import PASSWORD, World


def _token(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _audit(db_url: str) -> list[tuple[str | None, str]]:
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return [
                (r.username, r.action)
                for r in conn.execute(
                    sa.select(audit_log.c.username, audit_log.c.action).order_by(audit_log.c.id)
                )
            ]
    finally:
        engine.dispose()


def test_login_gives_a_token_that_opens_the_api(client: TestClient, world: World) -> None:
    r = _token(client, "op_a1", PASSWORD)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "operator" and body["scope"] == "A1"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["sites"] == ["A1"]


def test_bad_password_and_unknown_user_answer_alike(
    client: TestClient, world: World, api_settings: Any
) -> None:
    wrong = _token(client, "op_a1", "not the password")
    nobody = _token(client, "nobody", "not the password")
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["detail"] == nobody.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert ("op_a1", "login.failed") in _audit(api_settings.database.url)


def test_no_token_or_a_forged_one_is_refused(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/sites").status_code == 401
    forged = client.get("/api/v1/sites", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert forged.json()["status"] == 401


def test_rate_limit_stops_guessing_even_with_the_right_password(
    client: TestClient, world: World, api_settings: Any
) -> None:
    limit = api_settings.api.login_max_failures
    for _ in range(limit):
        assert _token(client, "reg_a", "guess").status_code == 401
    limited = _token(client, "reg_a", PASSWORD)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    # Other users are not locked out by someone guessing reg_a's password.
    assert _token(client, "reg_b", PASSWORD).status_code == 200
    actions = _audit(api_settings.database.url)
    assert ("reg_a", "login.limited") in actions
    assert ("reg_b", "login.ok") in actions


def test_api_key_acts_as_its_user_until_revoked(client: TestClient, world: World) -> None:
    headers = login(client, "op_a1")
    created = client.post("/api/v1/auth/api-keys", json={"name": "scada"}, headers=headers)
    assert created.status_code == 201
    key = created.json()["key"]
    machine = {"X-API-Key": key}
    assert client.get("/api/v1/sites/A1", headers=machine).status_code == 200
    assert client.get("/api/v1/sites/B1", headers=machine).status_code == 404
    listed = client.get("/api/v1/auth/api-keys", headers=headers).json()
    assert [k["name"] for k in listed["items"]] == ["scada"]
    assert "key" not in listed["items"][0] and listed["items"][0]["last_used_at"] is not None
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client.get("/api/v1/sites", headers={"X-API-Key": wrong_secret}).status_code == 401
    assert client.get("/api/v1/sites", headers={"X-API-Key": "garbage"}).status_code == 401
    key_id = created.json()["id"]
    assert client.delete(f"/api/v1/auth/api-keys/{key_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/sites/A1", headers=machine).status_code == 401


def test_add_user_hashes_with_argon2_and_refuses_bad_scopes(
    client: TestClient, world: World, api_settings: Any
) -> None:
    add_user(api_settings, "city", "another long pw", "regulator", "1401,1402")
    headers = login(client, "city", "another long pw")
    codes = [s["code"] for s in client.get("/api/v1/sites", headers=headers).json()["items"]]
    assert codes == ["A1", "A2", "B1"]
    engine = make_engine(api_settings.database.url, pool_size=1)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                sa.text("SELECT password_hash FROM api_users WHERE username = 'city'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert stored.startswith("$argon2id$") and "another long pw" not in stored
    for role, scope in (
        ("regulator", "14xx"),
        ("operator", None),
        ("admin", "1401"),
        ("root", None),
    ):
        try:
            add_user(api_settings, "bad", "long enough pw", role, scope)
        except InputError:
            continue
        raise AssertionError(f"{role} {scope} accepted")


def test_a_hash_with_older_parameters_is_replaced_at_the_next_good_login(
    client: TestClient, world: World, api_settings: Any
) -> None:
    old = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4).hash(PASSWORD)
    engine = make_engine(api_settings.database.url, pool_size=1)
    query = sa.text("SELECT password_hash FROM api_users WHERE username = 'op_a1'")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE api_users SET password_hash = :h WHERE username = 'op_a1'"),
                {"h": old},
            )
        assert _token(client, "op_a1", "a wrong password").status_code == 401
        with engine.connect() as conn:
            assert conn.execute(query).scalar_one() == old  # a failed login changes nothing
        assert _token(client, "op_a1", PASSWORD).status_code == 200
        with engine.connect() as conn:
            fresh = conn.execute(query).scalar_one()
    finally:
        engine.dispose()
    assert fresh != old and fresh.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert _token(client, "op_a1", PASSWORD).status_code == 200


def test_only_admins_manage_users_and_read_the_audit(client: TestClient, world: World) -> None:
    body = {"username": "newop", "password": "long enough pw", "role": "operator", "scope": "A2"}
    op = login(client, "op_a1")
    assert client.post("/api/v1/users", json=body, headers=op).status_code == 403
    assert client.get("/api/v1/audit", headers=op).status_code == 403
    admin = login(client, "admin")
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 409
    audit = client.get("/api/v1/audit", headers=admin, params={"action": "user.create"}).json()
    assert [e["target"] for e in audit["items"]][:1] == ["newop"]
    assert login(client, "newop", "long enough pw")
