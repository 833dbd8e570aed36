"""GET /sites/{site}/energy-flows: the balance of a local day or month, point by point, as the
operator page's energy-flow chart draws it, and each product's intensity over the period.

Site A1 of the world (tests/integration/api/test_energy_balance.py, `balanced`) has, per
15-minute bucket: 30 kWh of level-1 electricity, 0.15 t of raw coal, a level-2 electricity
sub-meter (12 kWh), recovered heat (3 GJ), 500 m3 of coke-oven gas sold and 1.2 t of coke.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.integration.api.conftest import login
from tests.integration.api.test_energy_balance import balanced  # noqa: F401 (fixture)
from tests.integration.api.world import World
from tests.support.clock import at_instants, local_yesterday

# Per bucket, in tce: what the level-1 meters bring in, and what is sold.
INPUT_TCE = 30.0 * 0.0001229 + 0.15 * 0.7143
SOLD_TCE = 500.0 * 0.0005714


@at_instants
def test_a_day_of_flows(api_settings: object, balanced: World) -> None:  # noqa: F811
    with TestClient(create_app(api_settings)) as client:  # type: ignore[arg-type]
        admin = login(client, "admin")
        day = local_yesterday(balanced.now)
        r = client.get("/api/v1/sites/A1/energy-flows", headers=admin, params={"day": str(day)})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["period"], got["label"]) == ("day", str(day))
        assert got["total_tce"] == pytest.approx(96 * (INPUT_TCE - SOLD_TCE), rel=1e-9)
        by_point = {p["point"]: p for p in got["points"]}
        signs = {code: p["balance_sign"] for code, p in by_point.items()}
        assert signs == {"E01": 1, "C01": 1, "E02": 0, "H01": 0, "G01": -1, "P01": 0}
        assert by_point["E02"]["quantity"] == pytest.approx(96 * 12.0)  # shown, not counted
        assert by_point["G01"]["tce"] == pytest.approx(96 * SOLD_TCE, rel=1e-9)
        [coke] = got["products"]
        assert coke["product"] == "coke_top_charged" and coke["unit"] == "kgce/t"
        assert coke["levels"]["level3"] == 135
        assert coke["value"] == pytest.approx(1000 * (INPUT_TCE - SOLD_TCE) / 1.2, rel=1e-9)


@at_instants
def test_a_month_and_refusals(api_settings: object, balanced: World) -> None:  # noqa: F811
    with TestClient(create_app(api_settings)) as client:  # type: ignore[arg-type]
        admin = login(client, "admin")
        month = local_yesterday(balanced.now).strftime("%Y-%m")
        got = client.get("/api/v1/sites/A1/energy-flows", headers=admin, params={"month": month})
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["period"] == "month" and body["label"] == month
        sign = {p["point"]: p["balance_sign"] for p in body["points"]}
        assert body["total_tce"] == pytest.approx(
            sum(p["tce"] * sign[p["point"]] for p in body["points"]), rel=1e-12
        )
        for params in ({}, {"day": "2026-01-01", "month": "2026-01"}, {"month": "2026-13"}):
            r = client.get("/api/v1/sites/A1/energy-flows", headers=admin, params=params)
            assert r.status_code == 422, params
        other = login(client, "op_a1")
        r = client.get("/api/v1/sites/B1/energy-flows", headers=other, params={"month": month})
        assert r.status_code in (403, 404)
