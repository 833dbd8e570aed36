"""The figures tables in docs/ are those of the benchmarks' saved results (benchmarks/report.py
writes them; a hand edit or a result saved without `report.py docs` fails here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.support.figures import TABLES, render, replace_tables, tables_in

REPO = Path(__file__).resolve().parents[3]
DOCS = sorted((REPO / "docs").glob("*.md"))
RESULTS = REPO / "benchmarks" / "results"


def saved() -> dict[str, Any]:
    return {p.stem: json.loads(p.read_text()) for p in RESULTS.glob("*.json")}


def test_every_benchmark_with_a_table_has_a_saved_result_shown_in_the_docs() -> None:
    shown = {name for doc in DOCS for name in tables_in(doc.read_text())}
    assert shown == set(TABLES), "each table is placed in some doc"
    assert set(saved()) >= shown


@pytest.mark.parametrize("doc", [d for d in DOCS if tables_in(d.read_text())], ids=lambda d: d.name)
def test_the_tables_of_a_doc_are_rendered_from_the_saved_results(doc: Path) -> None:
    text = doc.read_text()
    assert replace_tables(text, saved()) == text, (
        f"{doc.name} differs from benchmarks/results: run benchmarks/report.py docs"
    )


def test_saved_results_say_when_where_and_with_which_settings() -> None:
    for name, result in saved().items():
        assert result["benchmark"] == name
        assert result["date"] and result["command"].startswith("python benchmarks/")
        assert {"cpu", "cpus", "loadavg_before", "postgresql"} <= set(result["machine"])
        assert result["result"]["benchmark"] == name
        assert result["result"]["settings"], f"{name}: the JSON states its settings"


ROLLUP = {
    "benchmark": "rollup",
    "command": "python benchmarks/rollup.py --quick",
    "date": "2026-12-06 01:00 UTC",
    "machine": {"cpu": "Some CPU", "cpus": 2, "loadavg_before": 1.5},
    "result": {
        "full_readings_per_s": 321_987,
        "full_buckets_per_s": 22_000,
        "sql_baseline_s": 0.512,
        "ratio_full_to_sql_baseline": 5.1,
        "daily_totals_share": 0.034,
        "late_s": 1.8,
        "peak_rss_mb": 280.04,
    },
}


def test_a_table_shows_the_figures_of_its_result() -> None:
    table = render("rollup", ROLLUP)
    assert "`python benchmarks/rollup.py --quick` on 2026-12-06 01:00 UTC" in table
    assert "| recompute from scratch, readings/s | 321,987 |" in table
    assert "one SQL statement grouping them: 0.51 s |" in table
    assert "| daily totals' share of a pass | 3% |" in table
    assert "| peak RSS of the rollup process | 280.0 MB |" in table


def test_only_the_text_between_the_markers_is_replaced() -> None:
    doc = "Intro.\n<!-- figures:rollup -->\nold table\n<!-- /figures:rollup -->\nOutro.\n"
    out = replace_tables(doc, {"rollup": ROLLUP})
    assert out.startswith("Intro.\n<!-- figures:rollup -->\n")
    assert out.endswith("<!-- /figures:rollup -->\nOutro.\n")
    assert "old table" not in out and "321,987" in out
    assert replace_tables(out, {"rollup": ROLLUP}) == out
