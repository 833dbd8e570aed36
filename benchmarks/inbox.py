"""The regulator's inbox at province scale: the statements of GET /alerts?state=inbox, with
and without the partial index that migration alerting_0003_inbox adds.

    .venv/bin/python benchmarks/inbox.py --quick   # under a minute: 50,000 closed alerts
    .venv/bin/python benchmarks/inbox.py           # 200,000 closed alerts, more runs

Set-up, in a fresh database migrated to head: 2,000 enterprises in one province (division
codes 14xx01, 100 cities); years of closed alerts (resolved and acknowledged, or cancelled),
3,000 firing (a third each info, warning, critical) and 300 critical ones resolved without an
acknowledgement; one transition per alert carrying its window, as the evaluator writes them.

Figures: the time of `services.api.queries.alerts.list_alerts` (the counts per severity and
the first page of 200, default severities warning and critical), as a regulator of the whole
province and as one of a city, median and p95 over the runs, on a warm connection. Baseline:
the same calls after dropping the partial index `ix_alerts_inbox` (measured in the same run).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from energywatch.storage.engine import make_engine  # noqa: E402
from energywatch.storage.migrate import upgrade  # noqa: E402
from services.api.principal import Principal  # noqa: E402
from services.api.queries import alerts as q  # noqa: E402

PG_URL = os.environ.get("ENERGYWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SITES = 2000
FIRING = 3000
UNREAD_CRITICAL = 300
INDEX = (
    "CREATE INDEX ix_alerts_inbox ON alerts (site_id, started_at) WHERE state = 'firing' OR "
    "(state = 'resolved' AND severity = 'critical' AND acknowledged_at IS NULL)"
)
VIEWERS = {
    "province": Principal("bench", "regulator", ("14",)),
    "city": Principal("bench", "regulator", ("1401",)),
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load(engine: sa.Engine, closed: int) -> None:
    alert = (
        "INSERT INTO alerts (rule, kind, subject, site_id, state, severity, value, threshold, "
        "unit, started_at, resolved_at, acknowledged_at, last_evaluated_at) "
        "SELECT {rule}, 'power', 'site:S' || (i % {sites} + 1) || '/{tag}' || i, i % {sites} + 1, "
        "{state}, {severity}, 1, 1, 'kW', now() - make_interval(mins => i), {resolved}, "
        "{acked}, now() FROM generate_series(1, {n}) i"
    )
    every_severity = "(ARRAY['info', 'warning', 'critical'])[i % 3 + 1]"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sites (code, name, kind, division_code) SELECT 'S' || i, 'site', "
                "'enterprise', '14' || lpad((i % 100)::text, 2, '0') || '01' "
                f"FROM generate_series(1, {SITES}) i"
            )
        )
        for tag, n, state, severity, resolved, acked in (
            ("c", closed, "CASE WHEN i % 2 = 0 THEN 'resolved' ELSE 'cancelled' END",
             every_severity, "now()", "now()"),
            ("f", FIRING, "'firing'", every_severity, "NULL", "NULL"),
            ("u", UNREAD_CRITICAL, "'resolved'", "'critical'", "now()", "NULL"),
        ):  # fmt: skip
            conn.execute(
                sa.text(
                    alert.format(
                        rule=f"'{tag}' || (i % 10)",
                        sites=SITES,
                        tag=tag,
                        state=state,
                        severity=severity,
                        resolved=resolved,
                        acked=acked,
                        n=n,
                    )
                )
            )
        conn.execute(
            sa.text(
                "INSERT INTO alert_transitions (alert_id, at, to_state, window_s) "
                "SELECT id, started_at, 'pending', 900 FROM alerts"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE sites, alerts, alert_transitions"))


def timed(engine: sa.Engine, viewer: Principal, runs: int) -> dict[str, Any]:
    times: list[float] = []
    answer: tuple[int, dict[str, int]] = (0, {})
    with engine.connect() as conn:
        for _ in range(runs + 2):
            start = time.perf_counter()
            _, total, counts = q.list_alerts(
                conn,
                viewer,
                state="inbox",
                severities=["warning", "critical"],
                site=None,
                rule=None,
                since=None,
                limit=200,
                offset=0,
            )
            times.append((time.perf_counter() - start) * 1000)
            answer = (total, counts)
            conn.rollback()
    times = times[2:]  # the first two warm the connection and the plan
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(statistics.quantiles(times, n=20)[-1], 1),
        "listed": answer[0],
        "counts": answer[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    closed = 50_000 if args.quick else 200_000
    runs = 30 if args.quick else 100
    name = f"ew_bench_inbox_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)).set(
        database=name
    )
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
    try:
        started = time.perf_counter()
        upgrade(url.render_as_string(hide_password=False), seed=False)
        load(engine, closed)
        took = time.perf_counter() - started
        log(f"loaded {closed + FIRING + UNREAD_CRITICAL:,} alerts in {took:.1f} s")
        results = {who: timed(engine, viewer, runs) for who, viewer in VIEWERS.items()}
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_alerts_inbox"))
            conn.execute(sa.text("ANALYZE alerts"))
        baseline = {who: timed(engine, viewer, runs) for who, viewer in VIEWERS.items()}
        with engine.begin() as conn:
            conn.execute(sa.text(INDEX))
    finally:
        engine.dispose()
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for who in VIEWERS:
        log(
            f"{who:9s} p50 {results[who]['p50_ms']:6.1f} ms  p95 {results[who]['p95_ms']:6.1f} ms  "
            f"without the index p50 {baseline[who]['p50_ms']:6.1f} ms  "
            f"({results[who]['listed']} listed)"
        )
    summary = {
        "benchmark": "inbox",
        "quick": args.quick,
        "settings": {
            "enterprises": SITES,
            "closed_alerts": closed,
            "firing_alerts": FIRING,
            "unread_critical_alerts": UNREAD_CRITICAL,
            "severities": ["warning", "critical"],
            "page": 200,
            "runs": runs,
        },
        **{who: results[who] for who in VIEWERS},
        "baseline_without_index": {
            who: {k: baseline[who][k] for k in ("p50_ms", "p95_ms")} for who in VIEWERS
        },
        "ratio_baseline_to_indexed_p50": {
            who: round(baseline[who]["p50_ms"] / results[who]["p50_ms"], 1) for who in VIEWERS
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
