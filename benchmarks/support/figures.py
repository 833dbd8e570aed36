"""The figures tables of the docs, rendered from the benchmarks' saved results (pure).

A saved result (benchmarks/results/NAME.json, written by benchmarks/report.py) is the last JSON
line a benchmark printed, with when and where it ran. Each table sits in a doc between two
marker comments naming its benchmark:

    <!-- figures:rollup -->
    ...generated...
    <!-- /figures:rollup -->

`render` makes the text between them; `replace_tables` puts it there. Nothing else of a doc
is touched, so the prose around a table stays hand-written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Saved = Mapping[str, Any]
MARKED = re.compile(
    r"(<!-- figures:(?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /figures:(?P=name) -->)", re.S
)


def count(x: float) -> str:
    return f"{x:,.0f}"


def millions(x: float) -> str:
    return f"{x / 1e6:,.0f} M" if x >= 1e7 else f"{x / 1e6:,.1f} M"


def mb(x: float) -> str:
    return f"{x:,.1f} MB"


@dataclass(frozen=True)
class Row:
    label: str
    value: Callable[[Saved], str]
    baseline: Callable[[Saved], str] = lambda r: ""


def field(path: str, fmt: Callable[[float], str]) -> Callable[[Saved], str]:
    """The value at a dotted path of the result, formatted."""

    def get(result: Saved) -> str:
        node: Any = result
        for key in path.split("."):
            node = node[int(key)] if isinstance(node, list) else node[key]
        return fmt(node)

    return get


def _kernel_row(key: str, label: str) -> Row:
    def value(r: Saved) -> str:
        k = r["kernels"][key]
        return f"{millions(k['numba_per_s'])} ({millions(k['numba_cpu_per_s'])})"

    def baseline(r: Saved) -> str:
        k = r["kernels"][key]
        pandas = f", pandas {millions(k['pandas_per_s'])}" if "pandas_per_s" in k else ""
        return f"NumPy {millions(k['numpy_per_s'])}{pandas}"

    return Row(f"{label}: numba, readings/s (CPU time beside)", value, baseline)


def _request_row(key: str, label: str) -> Row:
    def value(r: Saved) -> str:
        return f"{r[key]['p50_ms']:,.1f} / {r[key]['p95_ms']:,.1f} ms"

    def baseline(r: Saved) -> str:
        return f"its query functions: {r[key]['baseline_p50_ms']:,.1f} ms p50"

    return Row(f"{label}: p50 / p95", value, baseline)


KERNELS = {
    "rolling_sum": "rolling sum over irregular timestamps",
    "rolling_intensity": "rolling intensity (energy ÷ output)",
    "counter_deltas": "counter deltas (reset / rollover)",
    "bucket_sums": "15-minute bucket sums",
    "convert": "conversion to tce / CO2",
}
REQUESTS = {
    "live": "live page of one site (24 h of 20 points, totals, open alerts)",
    "report": "monthly report of one site, CSV",
    "ranking": "ranking of 1,000 enterprises, one day",
}


def _cores(r: Saved) -> str:
    by = r["cpu"]["by_process_cores"]
    return ", ".join(
        f"{name} {by[name]:.2f}"
        for name in ("postgres", "alerting", "rollup", "ingest", "api", "postgres_shared")
        if name in by
    )


def _memory_row(service: str) -> Row:
    def value(r: Saved) -> str:
        m = r["rss"][service]
        slope = m["slope_mb_per_h"]
        return (
            f"{m['peak_mb']:,.0f} MB (PSS {m['peak_pss_mb']:,.0f} MB), "
            f"{'n/a' if slope is None else f'{slope:+,.0f}'} MB/h"
        )

    return Row(f"{service}: peak RSS of its processes (PSS), slope over the window", value)


def _api_row(key: str, label: str) -> Row:
    def value(r: Saved) -> str:
        a = r["api"][key]
        if a["p50_ms"] is None:
            return "no answer"
        return f"{a['p50_ms']:,.0f} / {a['p95_ms']:,.0f} ms ({a['n']} requests)"

    def baseline(r: Saved) -> str:
        a = r["api"][f"baseline_{key}"]
        return f"ingest + API alone: {a['p50_ms']:,.0f} / {a['p95_ms']:,.0f} ms"

    return Row(f"{label}, p50 / p95", value, baseline)


def _targets(r: Saved) -> str:
    met = r["targets_met"]
    judged = {k: v for k, v in met.items() if k != "all_judged"}
    return "; ".join(
        f"{k} {'met' if v else 'not judged' if v is None else 'NOT met'}" for k, v in judged.items()
    )


PROVINCE: list[Row] = [
    Row(
        "load: enterprises × 100 points, readings/s, measured window",
        lambda r: (
            f"{r['settings']['enterprises']:,} × 100, {r['settings']['readings_per_s']:,.0f}/s,"
            f" {r['window_s']:,.0f} s"
        ),
        lambda r: f"history {r['settings']['history_min']} min preloaded",
    ),
    Row(
        "CPU: all services + PostgreSQL backends, share of the cores",
        lambda r: f"{r['cpu']['share_of_cores']:.0%}",
        lambda r: (
            f"ingest + API + PostgreSQL alone: "
            f"{r['baseline_ingest_api_postgres_cpu']['share_of_cores']:.0%}"
        ),
    ),
    Row("CPU by process tree, cores", _cores),
    _memory_row("alerting"),
    _memory_row("ingest"),
    _memory_row("rollup"),
    _memory_row("api"),
    Row(
        "oldest dirty mark, max / p95",
        lambda r: f"{r['dirty_mark_age_s']['max']:.0f} / {r['dirty_mark_age_s']['p95']:.0f} s",
    ),
    Row(
        "reading published → alert stored, p50 / p99",
        lambda r: (
            f"{r['alert']['p50_s']:.2f} / {r['alert']['p99_s']:.2f} s"
            if r["alert"]["stored"]
            else "none stored"
        ),
        lambda r: f"{r['alert']['stored']} of {r['alert']['probes']} breaches became alerts",
    ),
    _api_row("ranking", "regulator's ranking of the province, today"),
    _api_row("live", "live view of one enterprise (100 points, 24 h)"),
    Row(
        "readings lost",
        lambda r: count(r["readings_lost"]),
        lambda r: f"of {r['readings_published']:,} published",
    ),
    Row("targets", _targets),
]

TABLES: dict[str, list[Row]] = {
    "core": [
        *[_kernel_row(key, label) for key, label in KERNELS.items()],
        Row(
            "first compilation / loading it from the cache",
            lambda r: f"{r['compile_s']} s / {r['cache_load_s']} s",
        ),
    ],
    "rollup": [
        Row(
            "recompute from scratch, readings/s",
            field("full_readings_per_s", count),
            field("sql_baseline_s", lambda x: f"one SQL statement grouping them: {x:.2f} s"),
        ),
        Row("recompute from scratch, buckets/s", field("full_buckets_per_s", count)),
        Row(
            "ratio to the SQL baseline", field("ratio_full_to_sql_baseline", lambda x: f"{x:.2f}×")
        ),
        Row("daily totals' share of a pass", field("daily_totals_share", lambda x: f"{x:.0%}")),
        Row(
            "late data (1% of readings held back): passes that recompute their buckets",
            field("late_s", lambda x: f"{x:.2f} s"),
        ),
        Row("peak RSS of the rollup process", field("peak_rss_mb", mb)),
    ],
    "rollup_live": [
        Row(
            "load: points, readings/s, measured window",
            lambda r: (
                f"{r['settings']['points']:,}, {r['settings']['readings_per_s']:,}/s,"
                f" {r['settings']['window_s']:,.0f} s"
            ),
            lambda r: f"history {r['settings']['history_min']} min preloaded",
        ),
        Row(
            "oldest dirty mark, max / p95",
            lambda r: (
                f"{r['oldest_mark_age_s']['max']:.0f} / {r['oldest_mark_age_s']['p95']:.0f} s"
            ),
            lambda r: "target < 60 s",
        ),
        Row(
            "passes; median points claimed / seconds",
            lambda r: (
                f"{r['passes']}; {r['points_per_pass_median']:,.0f} / {r['pass_s_median']:.2f} s"
            ),
        ),
        Row(
            "PostgreSQL CPU of the rollup: per pass (median), per point, cores",
            lambda r: (
                f"{r['pg_cpu_s_per_pass_median']:.2f} s, {r['pg_cpu_ms_per_point']:.3f} ms,"
                f" {r['rollup_backend_cores']:.2f}"
            ),
            lambda r: (
                f"the writer's backend: {r['writer_backend_cores']:.2f} cores"
                + (
                    f"; the rollup itself: {r['rollup_thread_cores']:.2f}"
                    if "rollup_thread_cores" in r
                    else ""
                )
            ),
        ),
        Row(
            "readings read by the rollup per second",
            field("readings_read_per_s", count),
            lambda r: f"{r['readings_stored_per_s']:,} stored per second",
        ),
        Row(
            "ranges loaded with the 2 h lookback",
            field("ranges_with_lookback_share", lambda x: f"{x:.1%}"),
        ),
    ],
    "ingest": [
        Row(
            "saturated throughput, readings/s",
            field("readings_per_s", count),
            field("copy_ceiling_per_s", lambda x: f"binary COPY straight into readings: {x:,.0f}"),
        ),
        Row("ratio to that ceiling", field("ratio_to_copy_ceiling", lambda x: f"{x:.2f}")),
        Row(
            "offered 50,000/s: publish → commit confirmed, p50 / p99",
            lambda r: f"{r['p50_latency_ms_at_50k']:,.0f} / {r['p99_latency_ms_at_50k']:,.0f} ms",
            field("offered_50k_achieved_per_s", lambda x: f"achieved {x:,.0f} readings/s"),
        ),
        Row(
            "saturated: publish → commit confirmed, p50 / p99",
            lambda r: (
                f"{r['p50_latency_ms_saturated']:,.0f} / {r['p99_latency_ms_saturated']:,.0f} ms"
            ),
        ),
        Row(
            "one INSERT per reading, one commit per message, readings/s",
            field("naive_insert_per_s", count),
        ),
        Row("ingest peak RSS per worker", field("peak_rss_mb", mb)),
    ],
    "api": [
        *[_request_row(key, label) for key, label in REQUESTS.items()],
        Row(
            "live page, 4 clients back to back: requests/s",
            field("live_concurrent.1.requests_per_s", count),
            field(
                "live_concurrent.1.baseline_requests_per_s",
                lambda x: f"its query functions alone: {x:,.0f}",
            ),
        ),
        Row("API peak RSS", field("api_peak_rss_mb", mb)),
    ],
    "province": PROVINCE,
    "edge": [
        Row(
            "disk per queued reading (SQLite WAL queue)",
            field("queue_bytes_per_reading", lambda x: f"{x:.1f} B"),
            field("naive_bytes_per_reading", lambda x: f"{x:.1f} B for a text-keyed table"),
        ),
        Row(
            "queue appends, default synchronous=full (normal beside), readings/s",
            lambda r: (
                f"{r['queue_append_per_s']:,.0f} ({r['queue_append_normal_sync_per_s']:,.0f})"
            ),
        ),
        Row(
            "replay after an outage until the queue is empty (each message confirmed on its"
            " ack topic), readings/s",
            field("replay_acked_per_s_median", count),
            field("raw_paho_acked_per_s_median", lambda x: f"raw paho: {x:,.0f}"),
        ),
        Row(
            "agent peak RSS, 200 points on four drivers",
            field("agent_peak_rss_mb", mb),
            field("bare_python_rss_mb", lambda x: f"bare interpreter {x:.1f} MB"),
        ),
    ],
}


def _loop(machine: dict[str, Any]) -> str:
    """The machine's speed at plain Python (saved results older than the figure have none)."""
    ns = machine.get("python_loop_ns")
    return "" if ns is None else f" ({ns:g} ns a Python loop iteration)"


def render(name: str, saved: Saved) -> str:
    """The markdown between the markers of `name`: where and when, then the table."""
    result = saved["result"]
    machine = saved["machine"]
    head = (
        f"Generated by `benchmarks/report.py` from `benchmarks/results/{name}.json`: "
        f"`{saved['command']}` on {saved['date']}, {machine['cpus']} × {machine['cpu']}"
        f"{_loop(machine)}, load average {machine['loadavg_before']} before the run. "
        "Medians of the runs "
        "inside the benchmark; the machine is shared, so figures are noisy.\n\n"
    )
    lines = ["| figure | value | baseline |", "| --- | ---: | --- |"]
    lines += [
        f"| {row.label} | {row.value(result)} | {row.baseline(result)} |" for row in TABLES[name]
    ]
    return head + "\n".join(lines) + "\n"


def tables_in(text: str) -> list[str]:
    """The benchmarks whose tables `text` holds, in order."""
    return [m["name"] for m in MARKED.finditer(text)]


def replace_tables(text: str, saved: Mapping[str, Saved]) -> str:
    """`text` with every marked table rendered afresh from `saved` (by benchmark name)."""
    return MARKED.sub(lambda m: m[1] + render(m["name"], saved[m["name"]]) + m[4], text)
