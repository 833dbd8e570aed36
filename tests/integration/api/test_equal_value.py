"""A site reporting on the equal value (等价值): every figure stays at the equivalent value
(当量值), the limit comparisons included, and the equal value is shown beside it."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from energywatch.storage.engine import make_engine
from services.api.app import create_app
from tests.integration.api.conftest import login
from tests.integration.api.world import World
from tests.support.clock import at_instants

EQUAL_MINUS_EQUIVALENT = (0.404 - 0.1229) / 1000  # tce per kWh (shipped coefficients)


@at_instants
def test_equal_basis_changes_no_judged_figure_and_shows_beside(
    api_settings: object, world: World, db_url: str
) -> None:
    hi = world.now.replace(minute=0, tzinfo=UTC)
    lo = hi - timedelta(hours=6)
    with TestClient(create_app(api_settings)) as client:  # type: ignore[arg-type]
        admin = login(client, "admin")

        def figures() -> tuple[list[dict[str, Any]], list[Any]]:
            r = client.get(
                "/api/v1/sites/A1/consumption",
                headers=admin,
                params={"start": lo.isoformat(), "end": hi.isoformat(), "group": "measure"},
            )
            assert r.status_code == 200, r.text
            got = client.get(
                "/api/v1/sites/A1/intensity", headers=admin, params={"window_hours": 6}
            ).json()
            [coke] = got["indicators"]
            return r.json()["items"], coke["series"]

        items_equivalent, intensity_equivalent = figures()
        assert all(i["tce_equal"] is None for i in items_equivalent)
        engine = make_engine(db_url, pool_size=1)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE sites SET coal_basis = 'equal' WHERE code = 'A1'"))
        engine.dispose()
        items_equal, intensity_equal = figures()

    assert intensity_equal == intensity_equivalent and len(intensity_equal) > 10
    assert [i["tce"] for i in items_equal] == [i["tce"] for i in items_equivalent]
    electricity = [i for i in items_equal if i["key"] == "electricity"]
    coal = [i for i in items_equal if i["key"] == "raw_coal"]
    assert electricity and coal
    for i in electricity:
        assert i["tce_equal"] == pytest.approx(
            i["tce"] + i["quantity"] * EQUAL_MINUS_EQUIVALENT, rel=1e-12
        )
        assert i["tce_equal"] > i["tce"]
    assert all(i["tce_equal"] == i["tce"] for i in coal)
