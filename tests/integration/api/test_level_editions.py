"""A day is judged by the edition of the intensity levels in force on it: the intensity API
and the regional ranking give the levels of the edition that judges their last local day.

The shipped data hold one edition per product, so the test adds a later one (made-up values)
that takes effect on a local day the world has data for (as the energy-balance test picks it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from energywatch.storage.engine import make_engine
from energywatch.storage.tables import intensity_levels
from services.api.app import create_app
from tests.integration.api.conftest import login
from tests.integration.api.world import World
from tests.support.clock import at_instants

SHANGHAI = ZoneInfo("Asia/Shanghai")


@at_instants
def test_each_day_takes_the_levels_of_its_edition(
    api_settings: object, world: World, db_url: str
) -> None:
    today = (world.now - timedelta(hours=2)).astimezone(SHANGHAI).date()
    engine = make_engine(db_url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(
            intensity_levels.insert().values(
                product="coke_top_charged",
                indicator="kgce_per_t",
                unit="kgce/t",
                level1=100.0,
                level2=115.0,
                level3=125.0,
                source="a later edition (test)",
                edition="test",
                valid_from=today,
            )
        )
    engine.dispose()
    midnight = datetime.combine(today, datetime.min.time(), SHANGHAI)
    with TestClient(create_app(api_settings)) as client:  # type: ignore[arg-type]
        admin = login(client, "admin")

        def levels(end: datetime) -> dict[str, Any]:
            r = client.get(
                "/api/v1/sites/A1/intensity",
                headers=admin,
                params={"end": end.isoformat(), "start": (end - timedelta(days=1)).isoformat()},
            )
            assert r.status_code == 200, r.text
            [coke] = r.json()["indicators"]
            return dict(coke["levels"])

        yesterday_levels = levels(midnight)  # [yesterday 00:00, today 00:00): yesterday's edition
        today_levels = levels(midnight + timedelta(hours=1))
        assert yesterday_levels["level3"] == 135.0 and yesterday_levels["valid_from"] < str(today)
        assert today_levels["level3"] == 125.0 and today_levels["valid_from"] == str(today)

        def ranking_level3(day: object) -> object:
            items = client.get(
                "/api/v1/regions/14/ranking", headers=admin, params={"day": str(day), "by": "tce"}
            ).json()["items"]
            return {row["site"]: row["intensity_level3"] for row in items}["A1"]

        assert ranking_level3(today - timedelta(days=1)) == 135.0
        assert ranking_level3(today) == 125.0
