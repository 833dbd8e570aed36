"""The operator page's pure modules (energy flows, site time, names), run in the real browser
against the static server of test_live_model.py, whatever the browser's time zone."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.e2e.processes import REPO
from tests.e2e.test_live_model import static_url  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.browser_timezone("America/New_York")]


def _run(page: Any, url: str, body: str) -> Any:
    page.goto(f"{url}/")
    return page.evaluate(
        f"""async () => {{
          const flow = await import('/js/energy-flow.js');
          const time = await import('/js/site-time.js');
          const i18n = await import('/js/i18n.js');
          const units = await import('/js/unit-balance.js');
          {body}
        }}"""
    )


def _point(point: str, measure: str, role: str, sign: int, tce: float) -> str:
    return (
        f"{{point: '{point}', name: null, measure: '{measure}', unit: 'x', role: '{role}',"
        f" balance_sign: {sign}, quantity: 1, tce: {tce}, tco2: 0, completeness: 1}}"
    )


def test_flows_of_a_chemical_plant_with_feedstock_and_no_sub_meters(page, static_url):  # noqa: F811
    points = ", ".join(
        [
            _point("E01", "electricity", "consumption", 1, 2.0),
            _point("C01", "raw_coal", "consumption", 1, 5.0),
            _point("C02", "raw_coal", "feedstock", 1, 3.0),
            _point("S01", "steam", "export", -1, 1.5),
            _point("P01", "product", "output", 0, 0.0),
        ]
    )
    got = _run(page, static_url, f"return flow.energyFlows({{points: [{points}]}});")
    links = {(x["source"], x["target"]): x["value"] for x in got["links"]}
    assert links == {
        ("in:electricity", "site"): 2.0,
        ("in:raw_coal", "site"): 8.0,  # fuel and feedstock coal: one input of raw coal
        ("site", "out:steam"): 1.5,
        ("site", "feedstock"): 3.0,
        ("site", "process"): pytest.approx(2.0 + 8.0 - 1.5 - 3.0),
    }
    assert got["total"] == pytest.approx(8.5)
    assert {n["id"] for n in got["nodes"]} == {a for k in links for a in k}


def test_flows_of_a_coke_plant_converting_coal(page, static_url):  # noqa: F811
    # The worked coke-plant day of docs/computation.md: coal charged to the ovens in, coke out
    # of the conversion, gas sold, a level-2 electricity sub-meter (GB/T 2589-2020 ch. 7).
    points = ", ".join(
        [
            _point("C01", "washed_coal", "transformation_input", 1, 1170.0),
            _point("K01", "coke", "transformation_output", -1, 971.4),
            _point("G01", "coke_oven_gas", "export", -1, 92.145),
            _point("E01", "electricity", "consumption", 1, 4.916),
            _point("E02", "electricity", "consumption", 0, 3.0725),
            _point("S01", "steam", "consumption", 1, 10.236),
        ]
    )
    got = _run(page, static_url, f"return flow.energyFlows({{points: [{points}]}});")
    links = {(x["source"], x["target"]): x["value"] for x in got["links"]}
    assert links == {
        ("in:washed_coal", "site"): 1170.0,
        ("in:electricity", "site"): 4.916,
        ("in:steam", "site"): 10.236,
        ("site", "conv:coke"): 971.4,
        ("site", "out:coke_oven_gas"): 92.145,
        ("site", "sub:E02"): 3.0725,
        ("site", "unmetered"): pytest.approx(121.607 - 3.0725, rel=1e-12),
    }
    assert got["total"] == pytest.approx(121.607, rel=1e-12)
    titles = {n["id"]: n["title"] for n in got["nodes"]}
    assert titles["conv:coke"] == "焦炭（加工转换产出）"


def test_a_converter_plant_exports_more_than_it_buys(page, static_url):  # noqa: F811
    points = ", ".join(
        [
            _point("E01", "electricity", "consumption", 1, 20.0),
            _point("G01", "blast_furnace_gas", "export", -1, 48.0),
            _point("H01", "steam", "recovered", 0, 9.0),
        ]
    )
    got = _run(page, static_url, f"return flow.energyFlows({{points: [{points}]}});")
    links = {(x["source"], x["target"]): x["value"] for x in got["links"]}
    # no negative or zero flow is drawn; the total says the balance is negative
    assert links == {("in:electricity", "site"): 20.0, ("site", "out:blast_furnace_gas"): 48.0}
    assert got["total"] == -28.0
    assert got["recovered"] == [{"measure": "steam", "unit": "x", "quantity": 1, "tce": 9.0}]


def _unit(code: str, parent: str | None, balance: float, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": code.lower(),
        "parent": parent,
        "kind": extra.get("kind", "production"),
        "inputs": [{"measure": "electricity", "quantity": 1, "tce": extra.get("inputs", 0.0)}],
        "recovered": [{"measure": "steam", "quantity": 1, "tce": extra.get("recovered", 0.0)}],
        "own": {"tce": extra.get("own", 0.0), "tco2": 0},
        "allocated": {"tce": extra.get("allocated", 0.0), "tco2": 0},
        "balance": {"tce": balance, "tco2": 0},
        "products": extra.get("products", []),
    }


CONVERTER = {"level1": -30, "level2": -25, "level3": -10, "source": "GB 21256", "edition": "x"}
# A works of three roots (one with two children) and a utility, figures in tce: the inputs
# 60 + 40 + 10 = 110 at level 1, 5 sold; roots 30 + 0 + 50 = 80 (STEEL = BOF −20 + ROLL 70),
# so unmetered = 110 − 5 − 80 = 25.
WORKS = {
    "total": {"tce": 105.0, "tco2": 0},
    "units": [
        _unit("SINTER", None, 30.0, inputs=28.0, own=28.0, allocated=2.0),
        _unit("STEEL", None, 50.0),
        _unit(
            "BOF",
            "STEEL",
            -20.0,
            inputs=10.0,
            recovered=31.0,
            own=-21.0,
            allocated=1.0,
            products=[
                {
                    "product": "converter_steel",
                    "output_t": 1000.0,
                    "energy_tce": -20.0,
                    "intensity": -20.0,
                    "unit": "kgce/t",
                    "levels": CONVERTER,
                }
            ],
        ),
        _unit("ROLL", "STEEL", 70.0, inputs=70.0, own=70.0),
        _unit("UTIL", None, 0.0, kind="utility", inputs=3.0, own=3.0, allocated=-3.0),
    ],
    "unmetered": {"tce": 25.0, "tco2": 0},
}


def test_flows_of_a_site_with_units(page, static_url):  # noqa: F811
    points = ", ".join(
        [
            _point("E00", "electricity", "consumption", 1, 60.0),
            _point("K00", "coke", "consumption", 1, 40.0),
            _point("F00", "raw_coal", "feedstock", 1, 10.0),
            _point("S99", "steam", "export", -1, 5.0),
            _point("E10", "electricity", "consumption", 0, 28.0),  # a sub-meter of SINTER
        ]
    )
    got = _run(
        page,
        static_url,
        f"return flow.energyFlows({{points: [{points}]}}, {json.dumps(WORKS)});",
    )
    links = {(x["source"], x["target"]): x["value"] for x in got["links"]}
    # units replace the sub-meters and the feedstock node (both inside the unit balances);
    # a negative (BOF) or zero (UTIL) balance draws no link
    assert links == {
        ("in:electricity", "site"): 60.0,
        ("in:coke", "site"): 40.0,
        ("in:raw_coal", "site"): 10.0,
        ("site", "out:steam"): 5.0,
        ("site", "unit:SINTER"): 30.0,
        ("site", "unit:STEEL"): 50.0,
        ("unit:STEEL", "unit:ROLL"): 70.0,
        ("site", "unmetered"): 25.0,
    }
    assert got["total"] == 105.0
    # what leaves the site is what entered it: exports + Σ root balances + unmetered
    out = sum(v for (source, _), v in links.items() if source == "site")
    assert out == sum(v for (_, target), v in links.items() if target == "site") == 110.0
    # without units (or with the one unit "*" of a site without any) today's flows stay
    whole = {"total": WORKS["total"], "units": [_unit("*", None, 105.0)], "unmetered": {"tce": 0}}
    plain = _run(
        page,
        static_url,
        f"""return [flow.energyFlows({{points: [{points}]}}, {json.dumps(whole)}),
                   flow.energyFlows({{points: [{points}]}})];""",
    )
    assert plain[0] == plain[1]
    assert ("site", "sub:E10") in {(x["source"], x["target"]) for x in plain[0]["links"]}


def test_unit_rows_keep_the_tree_and_the_unmetered_row(page, static_url):  # noqa: F811
    lost = {**WORKS, "unmetered": {"tce": -2.5, "tco2": 0}}  # sub-meters read more than level 1
    got = _run(
        page,
        static_url,
        f"""return [units.unitRows({json.dumps(WORKS)}), units.unitTotals({json.dumps(lost)}),
                   units.unitRows({{units: [{json.dumps(_unit("*", None, 1.0))}]}})];""",
    )
    rows, totals, whole = got
    assert [(r["code"], r["depth"]) for r in rows] == [
        ("SINTER", 0),
        ("STEEL", 0),
        ("BOF", 1),
        ("ROLL", 1),
        ("UTIL", 0),
    ]
    bof = rows[2]
    assert (bof["inputs"], bof["recovered"], bof["own"], bof["allocated"], bof["balance"]) == (
        10.0,
        31.0,
        -21.0,
        1.0,
        -20.0,
    )
    assert bof["products"] == [
        {
            "product": "converter_steel",
            "output": 1000.0,
            "intensity": -20.0,
            "unit": "kgce/t",
            "levels": CONVERTER,
            "grade": "3",
        }  # between level 2 (−25) and the limit (−10)
    ]
    assert totals == {"total": 105.0, "roots": 80.0, "unmetered": -2.5}
    assert whole == []


def test_grades_against_levels(page, static_url):  # noqa: F811
    got = _run(
        page,
        static_url,
        """const coke = {level1: 110, level2: null, level3: 135};
           const converter = {level1: -30, level2: -25, level3: -10};
           return [flow.grade(105, coke), flow.grade(120, coke), flow.grade(140, coke),
                   flow.grade(-28, converter), flow.grade(-5, converter),
                   flow.grade(null, coke), flow.grade(100, null)];""",
    )
    assert got == ["1", "3", "over", "2", "over", None, None]


def test_site_time_in_a_browser_of_another_zone(page, static_url):  # noqa: F811
    got = _run(
        page,
        static_url,
        """const ms = Date.parse('2026-12-05T16:00:00Z');  // 6 December 00:00 in Shanghai
           return [Intl.DateTimeFormat().resolvedOptions().timeZone,
                   time.siteDay(ms, 'Asia/Shanghai'), time.axisLabel(ms, 'Asia/Shanghai'),
                   time.axisLabel(ms + 5400000, 'Asia/Shanghai'),
                   new Date(time.siteMidnight('2026-12-06', 'Asia/Shanghai')).toISOString(),
                   new Date(time.siteMidnight('2026-03-29', 'Europe/Berlin')).toISOString(),
                   new Date(time.siteMidnight('2026-03-30', 'Europe/Berlin')).toISOString(),
                   time.addDays('2026-12-30', 3), time.daysBetween('2026-02-27', '2026-03-01')];""",
    )
    assert got == [
        "America/New_York",
        "2026-12-06",
        "12-06",
        "01:30",
        "2026-12-05T16:00:00.000Z",
        "2026-03-28T23:00:00.000Z",  # the night the clocks go forward: still +01:00 at 00:00
        "2026-03-29T22:00:00.000Z",
        "2027-01-02",
        2,
    ]


def test_midnight_is_written_00_in_both_languages(page, static_url):  # noqa: F811
    got = _run(
        page,
        static_url,
        """const format = await import('/js/format.js');
           const midnight = Date.parse('2026-12-05T16:00:00Z');
           return ['en', 'zh-CN'].map((lang) => {
             i18n.setLanguage(lang);
             return [format.time(midnight), format.dateTime(midnight)];
           });""",
    )
    for clock, stamp in got:
        assert clock == "00:00:00" and "00:00:00" in stamp and "24:" not in stamp


def test_industries_and_rules_have_names_in_both_languages(page, static_url):  # noqa: F811
    got = _run(
        page,
        static_url,
        """return [i18n.industryName('coal_power', 'zh-CN'), i18n.industryName('coal_power', 'en'),
                   i18n.ruleName('intensity.coke_top_charged', 'zh-CN'),
                   i18n.ruleName('intensity.coke_top_charged', 'en'),
                   i18n.ruleName('budget.energy_projection', 'zh-CN'),
                   i18n.ruleName('quality.silent', 'en'),
                   i18n.ruleName('demo.so2_stack_trip', 'zh-CN'), i18n.industryName('x_y', 'en'),
                   i18n.messageKeys('zh-CN').length === i18n.messageKeys('en').length];""",
    )
    assert got == [
        "燃煤发电",
        "Coal power",
        "焦炭（顶装）单位产品能耗",
        "Coke (top-charged) energy intensity",
        "能耗预算全年预测",
        "Meter silent",
        "二氧化硫超标（脱硫跳闸）",
        "x_y",  # an industry of one's own keeps its code
        True,
    ]


def test_every_default_rule_and_demo_industry_has_a_name(page, static_url):  # noqa: F811
    rules = [
        rule["name"]
        for path in sorted((REPO / "services" / "alerting" / "default_rules").glob("*.yaml"))
        for rule in yaml.safe_load(path.read_text("utf-8"))["rules"]
    ]
    region = yaml.safe_load((REPO / "services" / "demo" / "region.yaml").read_text("utf-8"))
    industries = sorted({s["industry"] for s in region["sites"] if s.get("industry")})
    got = _run(
        page,
        static_url,
        f"""const rules = {json.dumps(rules)}, industries = {json.dumps(industries)};
            return ['zh-CN', 'en'].flatMap((lang) => [
              ...rules.filter((r) => i18n.ruleName(r, lang) === r),
              ...industries.filter((c) => i18n.industryName(c, lang) === c)]);""",
    )
    assert len(rules) > 20 and len(industries) >= 5
    assert got == []  # none shown as a raw code
