"""Run benchmarks and save their results; write the figures tables of the docs from them.

    .venv/bin/python benchmarks/report.py run rollup edge      # --quick runs, results saved
    .venv/bin/python benchmarks/report.py run core --full      # the default (longer) run
    .venv/bin/python benchmarks/report.py run province --full --args "--minutes 5"
    .venv/bin/python benchmarks/report.py docs                 # tables rewritten from results
    .venv/bin/python benchmarks/report.py docs --check         # exit 1 if a table is stale

`run` starts `benchmarks/NAME.py --quick` (or without --quick), takes the JSON object on its
last line and saves it to benchmarks/results/NAME.json with the command, the date and the
machine (CPU model and count, load average before the run, PostgreSQL server version).
`docs` replaces every table between `<!-- figures:NAME -->` and `<!-- /figures:NAME -->` in
docs/*.md with one rendered from that file (benchmarks/support/figures.py), so a figure in the
docs is always that of a saved run; tests/unit/benchmarks checks they agree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.support.figures import TABLES, replace_tables, tables_in  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
DOCS = REPO / "docs"
PG_URL = os.environ.get("ENERGYWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def postgres_version() -> str:
    """The server's version, and whether autovacuum runs (a server without it keeps every
    dead row: tables that churn grow, and an hour's figures drift)."""
    import psycopg

    from energywatch.storage.dirty_marks import autovacuum_runs

    try:
        with psycopg.connect(PG_URL, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            autovacuum = "on" if autovacuum_runs(conn) else "off"
    except psycopg.Error:
        return "unreachable"
    return f"{version[0] if version else 'unknown'}, autovacuum {autovacuum}"


def python_loop_ns() -> float:
    """Nanoseconds per iteration of a plain Python loop, the median of five: machines that
    report the same CPU model have differed threefold here, and figures of two runs compare
    only beside this."""
    times = []
    for _ in range(5):
        t = time.perf_counter_ns()
        total = 0
        for i in range(1_000_000):
            total += i
        times.append((time.perf_counter_ns() - t) / 1_000_000)
    return round(statistics.median(times), 1)


def machine() -> dict[str, Any]:
    return {
        "host": platform.node(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python_loop_ns": python_loop_ns(),
        "loadavg_before": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
        "postgresql": postgres_version(),
    }


def run(name: str, quick: bool, extra: list[str]) -> dict[str, Any]:
    args = [f"benchmarks/{name}.py", *(["--quick"] if quick else []), *extra]
    where = machine()
    started = datetime.now(UTC)
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE, text=True, check=True
    )
    last = done.stdout.strip().splitlines()[-1]
    return {
        "benchmark": name,
        "command": " ".join(["python", *args]),
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round((datetime.now(UTC) - started).total_seconds()),
        "machine": where,
        "result": json.loads(last),
    }


def load_saved() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}


def write_docs(check: bool) -> int:
    saved = load_saved()
    stale = []
    for doc in sorted(DOCS.glob("*.md")):
        text = doc.read_text()
        names = tables_in(text)
        if not names:
            continue
        missing = [n for n in names if n not in saved]
        if missing:
            print(f"{doc}: no saved result for {', '.join(missing)}", file=sys.stderr)
            if check:
                return 1
            continue
        fresh = replace_tables(text, saved)
        if fresh != text:
            stale.append(doc)
            if not check:
                doc.write_text(fresh)
    for doc in stale:
        print(f"{doc}: {'stale' if check else 'rewritten'}")
    return 1 if check and stale else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run benchmarks and save their results")
    run_p.add_argument("names", nargs="+", choices=sorted(TABLES))
    run_p.add_argument("--full", action="store_true", help="the default run, not --quick")
    run_p.add_argument("--args", default="", help="more arguments for the benchmark, one string")
    docs_p = sub.add_parser("docs", help="write the figures tables of docs/*.md")
    docs_p.add_argument("--check", action="store_true", help="only say whether they are stale")
    args = parser.parse_args()
    if args.command == "run":
        RESULTS.mkdir(exist_ok=True)
        for name in args.names:
            saved = run(name, quick=not args.full, extra=args.args.split())
            (RESULTS / f"{name}.json").write_text(json.dumps(saved, indent=1) + "\n")
            print(f"{name}: saved to benchmarks/results/{name}.json")
        sys.exit(write_docs(check=False))
    sys.exit(write_docs(check=args.check))


if __name__ == "__main__":
    main()
