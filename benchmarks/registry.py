"""Registry import of a province: `energywatch registry import` of one YAML file, timed and
its memory measured, against PostgreSQL's own floor for the same rows.

    .venv/bin/python benchmarks/registry.py --quick   # 200 enterprises x 100 points
    .venv/bin/python benchmarks/registry.py           # 2,000 x 100: 200,000 points

Each enterprise has one gateway with its own password (hashed with Argon2id at import, as in
production) and 100 points: five level-1 meters, 94 level-2 sub-meters and a product output.
Figures, each the median of --repeat runs (3) in a fresh database migrated to head:
- first import: wall time and peak RSS of the importing process (a child process of its own,
  so that generating the file is not counted); points per second;
- re-import of the same file (every row updated, every password hashed again);
- baseline: the same rows of sites, devices and points written by one binary COPY each into
  empty copies of the three tables, plus the Argon2 hashes of the passwords on as many threads
  as the import may use: what PostgreSQL and the hash alone need, without parsing, validation
  or upserts. ratio = first import / baseline.
Targets (issue: a province's registry imported in ≤ 60 s and ≤ 1 GB) are checked in the JSON.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.support.databases import create_database, drop_database  # noqa: E402
from energywatch.reference.codes import credit_code_check_char  # noqa: E402
from energywatch.storage.migrate import upgrade  # noqa: E402
from energywatch.storage.passwords import MAX_CONCURRENT, hash_password  # noqa: E402

PG_URL = os.environ.get("ENERGYWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POINTS_PER_SITE = 100
TARGET_S = 60.0
TARGET_MB = 1024.0

# Runs in a child process: the import alone, its wall time and the process's peak RSS.
CHILD = """
import json, resource, sys, time
from pathlib import Path
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
engine = make_engine(sys.argv[1])
t0 = time.perf_counter()
summary = import_registry_file(engine, Path(sys.argv[2]))
seconds = time.perf_counter() - t0
engine.dispose()
print(json.dumps({"seconds": seconds, "points": summary.points,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def credit_code(n: int) -> str:
    first17 = f"91140100MA{n:07d}"
    return first17 + credit_code_check_char(first17)


def province(n_sites: int) -> dict[str, Any]:
    sites = []
    for s in range(n_sites):
        points: list[dict[str, Any]] = [
            {
                "code": f"E{p:03d}",
                "measure": "electricity",
                "unit": "kWh",
                "kind": "cumulative",
                "metering_level": 1 if p < 5 else 2,
            }
            for p in range(POINTS_PER_SITE - 1)
        ]
        points.append(
            {
                "code": "P01",
                "measure": "product",
                "unit": "t",
                "kind": "interval",
                "role": "output",
                "product": "cement_clinker",
            }
        )
        sites.append(
            {
                "code": f"S{s:05d}",
                "name": f"企业 {s}",
                "kind": "enterprise",
                "credit_code": credit_code(s),
                "division_code": "140105",
                "industry": "cement",
                "devices": [
                    {"code": "gw01", "password": f"gateway-pass-{s:05d}", "points": points}
                ],
            }
        )
    return {"sites": sites}


def import_once(url: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def baseline(url: str, doc: dict[str, Any]) -> float:
    """Binary COPY of the same rows into empty copies of the tables, plus the hashes."""
    sites = doc["sites"]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(MAX_CONCURRENT) as pool:
        hashes = list(pool.map(lambda s: hash_password(s["devices"][0]["password"]), sites))
    with psycopg.connect(url) as conn:
        for table in ("sites", "devices", "points"):
            conn.execute(f"CREATE TEMP TABLE copy_{table} (LIKE {table} INCLUDING DEFAULTS)")
        cols = "id, code, name, kind, credit_code, division_code, industry"
        with conn.cursor().copy(f"COPY copy_sites ({cols}) FROM STDIN") as copy:
            for i, s in enumerate(sites):
                copy.write_row(
                    (i, s["code"], s["name"], s["kind"], s["credit_code"], "140105", "cement")
                )
        with conn.cursor().copy(
            "COPY copy_devices (id, site_id, code, password_hash) FROM STDIN"
        ) as copy:
            for i, h in enumerate(hashes):
                copy.write_row((i, i, "gw01", h))
        cols = "site_id, device_id, code, measure, unit, kind, metering_level, role, product"
        with conn.cursor().copy(f"COPY copy_points ({cols}) FROM STDIN") as copy:
            for i, s in enumerate(sites):
                for p in s["devices"][0]["points"]:
                    copy.write_row(
                        (
                            i,
                            i,
                            p["code"],
                            p["measure"],
                            p["unit"],
                            p["kind"],
                            p.get("metering_level", 1),
                            p.get("role", "consumption"),
                            p.get("product"),
                        )
                    )
        conn.commit()
    return time.perf_counter() - t0


def run(n_sites: int, repeat: int) -> dict[str, Any]:
    doc = province(n_sites)
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "province.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
        for r in range(repeat):
            print(f"run {r + 1}/{repeat}: {n_sites * POINTS_PER_SITE:,} points", file=sys.stderr)
            url = create_database(PG_URL, f"ew_bench_registry_{uuid.uuid4().hex[:8]}")
            try:
                upgrade(url)
                first = import_once(url, path)
                again = import_once(url, path)
                floor = baseline(url, doc)
            finally:
                drop_database(PG_URL, url)
            runs.append(
                {
                    "first_s": first["seconds"],
                    "first_rss_mb": first["peak_rss_mb"],
                    "reimport_s": again["seconds"],
                    "reimport_rss_mb": again["peak_rss_mb"],
                    "baseline_s": floor,
                }
            )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    points = n_sites * POINTS_PER_SITE
    first_s, rss = median("first_s"), median("first_rss_mb")
    return {
        "benchmark": "registry",
        "settings": {
            "enterprises": n_sites,
            "points_per_enterprise": POINTS_PER_SITE,
            "gateway_passwords": "argon2id m=19MiB t=2 p=1, one per enterprise",
            "hash_threads": MAX_CONCURRENT,
            "repeat": repeat,
            "database": "PostgreSQL, fresh database migrated to head per run",
        },
        "points": points,
        "first_import_s": round(first_s, 2),
        "first_import_points_per_s": round(points / first_s),
        "first_import_peak_rss_mb": round(rss, 1),
        "reimport_s": round(median("reimport_s"), 2),
        "reimport_peak_rss_mb": round(median("reimport_rss_mb"), 1),
        "baseline_s": round(median("baseline_s"), 2),
        "ratio_to_baseline": round(first_s / median("baseline_s"), 2),
        "spread_first_import_s": [
            round(min(r["first_s"] for r in runs), 2),
            round(max(r["first_s"] for r in runs), 2),
        ],
        "targets_met": {
            "province_import_s": None if n_sites < 2000 else first_s <= TARGET_S,
            "province_import_mb": None if n_sites < 2000 else rss <= TARGET_MB,
        },
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 enterprises, one run")
    parser.add_argument("--enterprises", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    n_sites = args.enterprises or (200 if args.quick else 2000)
    repeat = args.repeat or (1 if args.quick else 3)
    print(json.dumps(run(n_sites, repeat)))


if __name__ == "__main__":
    main()
