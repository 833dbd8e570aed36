"""The dashboard's pure modules, run in the real browser against a small static server."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.processes import REPO

pytestmark = pytest.mark.browser

DASHBOARD = REPO / "services" / "api" / "dashboard"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def static_url() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(DASHBOARD))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


LIVE_VIEW = """{
  site: "S", now: "2026-11-22T03:00:00Z", bucket: "5m", day: "2026-11-22", alerts: [],
  today: {tce: 0, tco2: 0, by_measure: []},
  points: [
    {code: "E01", name: null, measure: "electricity", unit: "kWh", kind: "cumulative",
     role: "consumption", balance_sign: 1, last: null,
     series: [["2026-11-22T02:45:00Z", 1000], ["2026-11-22T02:50:00Z", 1100],
              ["2026-11-22T02:55:00Z", 1250]]},
    {code: "E02", name: null, measure: "electricity", unit: "kWh", kind: "cumulative",
     role: "consumption", balance_sign: 1, last: null,
     series: [["2026-11-22T02:50:00Z", 500], ["2026-11-22T02:55:00Z", 510]]},
    {code: "C01", name: null, measure: "washed_coal", unit: "t", kind: "interval",
     role: "consumption", balance_sign: 1, last: null, series: [["2026-11-22T02:55:00Z", 1.5]]},
    {code: "P01", name: null, measure: "product", unit: "t", kind: "interval",
     role: "output", balance_sign: 0, last: null, series: [["2026-11-22T02:55:00Z", 17]]},
    {code: "KW", name: null, measure: "power", unit: "kW", kind: "instantaneous",
     role: "consumption", balance_sign: 1, last: null,
     series: [["2026-11-22T02:50:00Z", 8000], ["2026-11-22T02:55:00Z", 8100]]}
  ]}"""


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _run(page, static_url: str, body: str) -> Any:
    page.goto(f"{static_url}/")
    script = f"""async () => {{
      const m = await import('/js/live-model.js');
      const view = {LIVE_VIEW};
      {body}
    }}"""
    return page.evaluate(script)


def test_consumption_is_register_differences_summed_per_measure(page, static_url):
    result = _run(
        page,
        static_url,
        """
      const model = m.createLiveModel(view, 24);
      return m.consumptionByMeasure(model).map(x => [x.measure, x.unit, x.data]);
    """,
    )
    t50, t55 = _ms("2026-11-22T02:50:00+00:00"), _ms("2026-11-22T02:55:00+00:00")
    assert result == [
        # E01: 100 then 150; E02: 10 at 02:55 (no bucket before 02:50 to diff against)
        ["electricity", "kWh", [[t50, 100], [t55, 160]]],
        ["washed_coal", "t", [[t55, 1.5]]],  # interval: the sum; output points are not energy
    ]


def test_sub_meters_do_not_add_and_exports_subtract(page, static_url):
    # The same balance as the site total (energywatch/storage/balance.py): a level-2 sub-meter
    # (balance_sign 0) is inside E01 already; gas sold (-1) lowers the gas line.
    result = _run(
        page,
        static_url,
        """
      view.points.push(
        {code: "E09", name: null, measure: "electricity", unit: "kWh", kind: "cumulative",
         role: "consumption", balance_sign: 0, last: null,
         series: [["2026-11-22T02:50:00Z", 10], ["2026-11-22T02:55:00Z", 90]]},
        {code: "G01", name: null, measure: "natural_gas", unit: "m3", kind: "interval",
         role: "consumption", balance_sign: 1, last: null,
         series: [["2026-11-22T02:55:00Z", 40]]},
        {code: "G02", name: null, measure: "natural_gas", unit: "m3", kind: "interval",
         role: "export", balance_sign: -1, last: null,
         series: [["2026-11-22T02:55:00Z", 15]]});
      const model = m.createLiveModel(view, 24);
      return Object.fromEntries(m.consumptionByMeasure(model).map(x => [x.measure, x.data]));
    """,
    )
    t50, t55 = _ms("2026-11-22T02:50:00+00:00"), _ms("2026-11-22T02:55:00+00:00")
    assert result["electricity"] == [[t50, 100], [t55, 160]]  # E09's 80 kWh not added
    assert result["natural_gas"] == [[t55, 25]]  # 40 in, 15 sold


def test_live_readings_update_the_current_bucket_and_a_register_drop_is_a_gap(page, static_url):
    result = _run(
        page,
        static_url,
        """
      const model = m.createLiveModel(view, 24);
      const changed = m.applyReadings(model, [
        {point: "E01", ts: "2026-11-22T03:00:30Z", v: 1300},
        {point: "E01", ts: "2026-11-22T03:01:00Z", v: 1320},
        {point: "E02", ts: "2026-11-22T03:01:00Z", v: 3},       // meter reset
        {point: "C01", ts: "2026-11-22T03:01:00Z", v: 0.2},
        {point: "C01", ts: "2026-11-22T03:02:00Z", v: 0.3},
        {point: "XX", ts: "2026-11-22T03:02:00Z", v: 1},        // not of this site
      ]);
      const byMeasure = Object.fromEntries(
        m.consumptionByMeasure(model).map(x => [x.measure, x.data]));
      return {changed: [...changed].sort(), elec: byMeasure.electricity,
              coal: byMeasure.washed_coal, last: model.points.get("E01").last};
    """,
    )
    t03 = _ms("2026-11-22T03:00:00+00:00")
    assert result["changed"] == ["C01", "E01", "E02"]
    # E01 03:00 bucket = last register 1320 - 1250 = 70; E02 dropped: left out, not negative
    assert result["elec"][-1] == [t03, 70]
    assert result["coal"][-1] == [t03, pytest.approx(0.5)]
    assert result["last"] == {"ts": t03 + 60_000, "v": 1320}


def test_instantaneous_readings_are_kept_in_time_order_within_the_window(page, static_url):
    result = _run(
        page,
        static_url,
        """
      const model = m.createLiveModel(view, 1);
      m.applyReadings(model, [
        {point: "KW", ts: "2026-11-22T03:00:10Z", v: 8200},
        {point: "KW", ts: "2026-11-22T03:00:05Z", v: 8150},     // late, still in order
        {point: "KW", ts: "2026-11-22T03:55:00Z", v: 8300},     // pushes 02:50 out of 1 h
      ]);
      return m.powerPoints(model).map(p => p.series.map(([t, v]) => v));
    """,
    )
    assert result == [[8100, 8150, 8200, 8300]]  # 02:50 left the window, 02:55 is its edge


def test_both_languages_have_the_same_texts(page, static_url):
    page.goto(f"{static_url}/")
    keys = page.evaluate("""async () => {
      const i18n = await import('/js/i18n.js');
      return [i18n.messageKeys('zh-CN').sort(), i18n.messageKeys('en').sort(),
              i18n.t('live.updated', {time: '11:00'}, 'en'),
              i18n.measureName('natural_gas', 'zh-CN'), i18n.measureName('unknown_x', 'en')];
    }""")
    zh, en, updated, gas, unknown = keys
    assert zh == en
    assert updated == "Updated 11:00"
    assert gas == "天然气"
    assert unknown == "unknown_x"


def test_every_shipped_rule_has_a_name_in_both_languages(page, static_url):
    import yaml

    from services.alerting.rules import default_rules, parse_rules_document
    from services.demo.rules import DEMO_RULES

    demo = parse_rules_document(yaml.safe_load(DEMO_RULES), "demo.yaml")
    shipped = {r.name for r in default_rules()} | {r.name for r in demo}
    page.goto(f"{static_url}/")
    names = page.evaluate("""async () => {
      const i18n = await import('/js/i18n.js');
      const rules = i18n.ruleNames();
      return [rules, rules.map((r) => [i18n.ruleName(r, 'zh-CN'), i18n.ruleName(r, 'en')]),
              i18n.ruleName('contracted-demand', 'en')];
    }""")
    rules, localised, own = names
    assert set(rules) == shipped
    for rule, (zh, en) in zip(rules, localised, strict=True):
        assert zh != rule and en != rule and zh != en, rule
    assert own == "contracted-demand"  # a rule of one's own shows its id
