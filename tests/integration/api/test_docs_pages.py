"""/docs and /redoc name only this server's assets, and say what is missing when the npm
packages are not installed (the browser test renders them without the internet)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from energywatch.settings import ApiSettings, Settings
from services.api.app import DEFAULT_DASHBOARD, create_app

VENDOR = DEFAULT_DASHBOARD / "node_modules"


def _client(dashboard_dir: Path | None = None) -> TestClient:
    # No lifespan: these pages need no database.
    return TestClient(create_app(Settings(demo=True, api=ApiSettings(dashboard_dir=dashboard_dir))))


@pytest.mark.skipif(not VENDOR.is_dir(), reason="npm ci in services/api/dashboard not run")
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_this_server(page: str) -> None:
    client = _client()
    answer = client.get(page)
    assert answer.status_code == 200
    links = re.findall(r'(?:src|href)="([^"]*)"', answer.text)
    assert links and all(link.startswith("/vendor/") for link in links), links
    assert "http" not in answer.text.lower().replace("http-equiv", "")
    for link in links:
        assert client.get(link).status_code == 200, link
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_docs_pages_name_the_missing_packages(tmp_path: Path) -> None:
    client = _client(tmp_path)
    for page in ("/docs", "/redoc"):
        answer = client.get(page)
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert "npm ci" in answer.json()["detail"]
        assert "swagger-ui-dist/swagger-ui-bundle.js" in answer.json()["detail"]
