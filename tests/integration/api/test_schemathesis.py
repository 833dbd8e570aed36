"""schemathesis against the OpenAPI schema, on a real uvicorn: no input answers 5xx, and every
error is a problem document.

Bounded (a few examples per operation) so that it runs in seconds; run with
ENERGYWATCH_SCHEMATHESIS_EXAMPLES=100 for a deeper search.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.integration.api.world import PASSWORD, World

EXAMPLES = int(os.environ.get("ENERGYWATCH_SCHEMATHESIS_EXAMPLES", "6"))
# Streams never end by design; they are covered by test_live_stream.
SKIP = {("GET", "/api/v1/sites/{site}/stream"), ("GET", "/api/v1/alerts/stream")}


def _operations(server: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    return [op for op in ops if (op.method.upper(), op.path) not in SKIP]


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type") or [""]
    return str(value[0] if isinstance(value, list) else value)


def _exercise(op: Any, server: str, auth: dict[str, str], failures: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def check(case: Any) -> None:
        response = case.call(base_url=server, headers=auth, timeout=30)
        where = f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}"
        if response.status_code >= 500:
            failures.append(f"{where} -> {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400 and not _content_type(response).startswith(
            "application/problem+json"
        ):
            failures.append(f"{where} -> {response.status_code} is not a problem document")

    check()


@pytest.mark.parametrize("username", ["admin", "op_a1"])
def test_no_input_makes_the_api_fail(server: str, world: World, username: str) -> None:
    token = httpx.post(
        f"{server}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    operations = _operations(server)
    assert len(operations) >= 40
    failures: list[str] = []
    for op in operations:
        _exercise(op, server, auth, failures)
    assert not failures, "\n".join(failures[:20])
