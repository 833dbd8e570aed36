"""Throughput of the numba core against NumPy and pandas doing the same job, in the same run.

    .venv/bin/python benchmarks/core.py --quick      # 2 million readings, 1,000 series
    .venv/bin/python benchmarks/core.py              # 10 million, more repeats

For each kernel: readings per second for the numba kernel, for a vectorised NumPy version of
the same computation, and for the equivalent pandas groupby (rolling, diff, resample); a memory
bandwidth baseline (`np.sum` over the same value array) bounds what any single pass can do.
Every figure is the median of several runs of wall-clock time (the headline and the targets:
what a caller waits for), with the CPU time of the measuring thread beside it (`*_cpu_per_s`:
one core's throughput without the time spent waiting for a core on a busy machine). NumPy and
pandas get the same readings as numba, in --quick too. Compile time is measured apart, in child
processes: once with an empty numba cache (compiling) and once reading that cache back.
The last line printed is one JSON object with every figure and ratio.

Figures are noisy on a shared machine; compare ratios within one run rather than runs.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from energywatch.core.buckets import BUCKET_MS, bucket_sums
from energywatch.core.conversion import convert
from energywatch.core.counters import counter_deltas
from energywatch.core.indicators import rolling_intensity
from energywatch.core.rolling import rolling_sum

MINUTE = 60_000
WINDOW = 60 * MINUTE
N_SERIES = 1_000
N_READINGS = 10_000_000
QUICK_READINGS = 2_000_000  # pandas gets them all too: under a minute on a busy 2-core box
TARGET_READINGS_PER_S = 100e6
TARGET_VS_PANDAS = 20.0


def make_data(n_series: int, n_readings: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Per series: readings about a minute apart (jittered, with a few long gaps), a cumulative
    register with occasional resets, and an output column for intensity."""
    rng = np.random.default_rng(seed)
    per = n_readings // n_series
    n = per * n_series
    steps = rng.integers(50_000, 70_000, size=n).astype(np.int64)
    steps[rng.random(n) < 0.001] = 3 * 60 * MINUTE
    ts = np.cumsum(steps.reshape(n_series, per), axis=1).reshape(n) + 1_763_600_000_000
    use = rng.gamma(2.0, 1.5, size=n)
    register = np.cumsum(use.reshape(n_series, per), axis=1).reshape(n)
    register[rng.random(n) < 1e-5] = 0.0  # resets
    output = rng.gamma(2.0, 0.5, size=n)
    output[rng.random(n) < 0.01] = 0.0
    return {
        "offsets": np.arange(0, n + 1, per, dtype=np.int64),
        "ids": np.repeat(np.arange(n_series, dtype=np.int64), per),
        "ts": ts,
        "register": register,
        "use": use,
        "output": output,
        "rollover": np.full(n_series, np.nan),
    }


def median_times(func: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this thread (seconds). Wall time is what a
    caller waits for; on a shared machine the CPU time leaves out the waits for a core."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        func()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(wall), statistics.median(cpu)


# --- NumPy versions: vectorised, same output shape, simpler rules where noted ------------


def numpy_rolling_sum(d: dict[str, np.ndarray], values: np.ndarray) -> np.ndarray:
    """Prefix sums and a searchsorted for each window's left edge (no compensation)."""
    span = int(d["ts"].max() - d["ts"].min()) + WINDOW + 1
    key = d["ids"] * span + (d["ts"] - d["ts"].min())
    csum = np.concatenate(([0.0], np.cumsum(np.nan_to_num(values))))
    left = np.searchsorted(key, key - WINDOW, side="right")
    return csum[1:] - csum[left]


def numpy_intensity(d: dict[str, np.ndarray]) -> np.ndarray:
    num = numpy_rolling_sum(d, d["use"])
    den = numpy_rolling_sum(d, d["output"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(den) > 0.5, 1000.0 * num / den, np.nan)


def numpy_counter(d: dict[str, np.ndarray]) -> np.ndarray:
    """Differences with resets counted from zero (no high-water mark, no rollover)."""
    v = d["register"]
    delta = np.diff(v, prepend=np.nan)
    delta[d["offsets"][:-1]] = 0.0
    drop = delta < 0
    delta[drop] = np.where(-delta[drop] > 0.1 * np.roll(v, 1)[drop], v[drop], 0.0)
    return delta


def numpy_buckets(d: dict[str, np.ndarray], origin: int, n_buckets: int) -> np.ndarray:
    """Each delta into the bucket of its end time (no apportioning across buckets)."""
    k = (d["ts"] - origin) // BUCKET_MS
    flat = d["ids"] * n_buckets + k
    return np.bincount(flat, weights=d["use"], minlength=N_SERIES * n_buckets)


def numpy_convert(q: np.ndarray, idx: np.ndarray, a: np.ndarray, b: np.ndarray) -> object:
    return q * a[idx], q * b[idx]


# --- pandas versions ----------------------------------------------------------------------


def pandas_frame(d: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series": d["ids"],
            "ts": pd.to_datetime(d["ts"], unit="ms"),
            "use": d["use"],
            "output": d["output"],
            "register": d["register"],
        }
    )


def pandas_rolling_sum(df: pd.DataFrame) -> object:
    return df.groupby("series").rolling("60min", on="ts")["use"].sum()


def pandas_intensity(df: pd.DataFrame) -> object:
    sums = df.groupby("series").rolling("60min", on="ts")[["use", "output"]].sum()
    den = sums["output"].where(sums["output"].abs() > 0.5)
    return 1000.0 * sums["use"] / den


def pandas_counter(df: pd.DataFrame) -> object:
    delta = df.groupby("series")["register"].diff()
    return delta.where(delta >= 0, df["register"].where(delta < -0.1 * df["register"], 0.0))


def pandas_buckets(df: pd.DataFrame) -> object:
    return df.groupby(["series", df["ts"].dt.floor("15min")])["use"].sum()


# --- compile time in child processes ------------------------------------------------------

COMPILE_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
from benchmarks.core import make_data, run_every_kernel_once
d = make_data(4, 400)
t1 = time.perf_counter()
run_every_kernel_once(d)
print(time.perf_counter() - t1)
"""


def run_every_kernel_once(d: dict[str, np.ndarray]) -> None:
    delta, start, _ = counter_deltas(d["offsets"], d["ts"], d["register"], d["rollover"])
    bucket_sums(d["offsets"], start, d["ts"], delta, int(d["ts"].min()), 8)
    rolling_sum(d["offsets"], d["ts"], d["use"], WINDOW)
    rolling_intensity(d["offsets"], d["ts"], d["use"], d["output"], WINDOW, 0.5)
    convert(d["use"], np.zeros(d["use"].size, dtype=np.int64), np.ones(1), np.ones(1))


def compile_seconds() -> dict[str, float]:
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(root)}
        out = {}
        for label in ("compile_s", "cache_load_s"):
            res = subprocess.run(
                [sys.executable, "-c", COMPILE_SNIPPET],
                env=env,
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            )
            out[label] = round(float(res.stdout.strip().splitlines()[-1]), 3)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer readings and repeats")
    parser.add_argument("--readings", type=int, help=f"default {N_READINGS:,}")
    parser.add_argument("--series", type=int, default=N_SERIES)
    args = parser.parse_args()
    repeats = 5 if args.quick else 11
    pandas_repeats = 1 if args.quick else 3

    compiled = compile_seconds()
    readings = args.readings or (QUICK_READINGS if args.quick else N_READINGS)
    d = make_data(args.series, readings)
    n = d["ts"].size
    run_every_kernel_once(d)  # warm: load from the cache or compile

    origin = int(d["ts"].min()) // BUCKET_MS * BUCKET_MS
    n_buckets = int((d["ts"].max() - origin) // BUCKET_MS) + 1
    delta, start, _ = counter_deltas(d["offsets"], d["ts"], d["register"], d["rollover"])
    coef_idx = d["ids"] % 16
    coef_a, coef_b = np.linspace(0.1, 1, 16), np.linspace(1, 2, 16)

    numba_jobs: dict[str, Callable[[], object]] = {
        "rolling_sum": lambda: rolling_sum(d["offsets"], d["ts"], d["use"], WINDOW),
        "rolling_intensity": lambda: rolling_intensity(
            d["offsets"], d["ts"], d["use"], d["output"], WINDOW, 0.5
        ),
        "counter_deltas": lambda: counter_deltas(
            d["offsets"], d["ts"], d["register"], d["rollover"]
        ),
        "bucket_sums": lambda: bucket_sums(d["offsets"], start, d["ts"], delta, origin, n_buckets),
        "convert": lambda: convert(d["use"], coef_idx, coef_a, coef_b),
    }
    numpy_jobs: dict[str, Callable[[], object]] = {
        "rolling_sum": lambda: numpy_rolling_sum(d, d["use"]),
        "rolling_intensity": lambda: numpy_intensity(d),
        "counter_deltas": lambda: numpy_counter(d),
        "bucket_sums": lambda: numpy_buckets(d, origin, n_buckets),
        "convert": lambda: numpy_convert(d["use"], coef_idx, coef_a, coef_b),
    }
    df = pandas_frame(d)
    pandas_jobs: dict[str, Callable[[], object]] = {
        "rolling_sum": lambda: pandas_rolling_sum(df),
        "rolling_intensity": lambda: pandas_intensity(df),
        "counter_deltas": lambda: pandas_counter(df),
        "bucket_sums": lambda: pandas_buckets(df),
    }

    bandwidth = n / median_times(lambda: np.sum(d["use"]), repeats)[0]
    figures: dict[str, Any] = {
        "benchmark": "core",
        "quick": args.quick,
        "settings": {
            "readings": n,
            "series": args.series,
            "window_min": WINDOW // MINUTE,
            "pandas_readings": n,
            "repeats": repeats,
            "numpy_repeats": max(3, repeats // 2),
            "pandas_repeats": pandas_repeats,
            "rates_from": "median wall-clock time; *_cpu_per_s: median CPU time of the thread",
        },
        "readings": n,
        "bandwidth_np_sum_per_s": round(bandwidth),
        **compiled,
        "kernels": {},
    }
    print(f"{n:,} readings in {args.series:,} series; np.sum bandwidth {bandwidth / 1e6:,.0f} M/s")
    print(f"numba compile {compiled['compile_s']} s, cache load {compiled['cache_load_s']} s")
    print("readings/s from the median wall-clock time (CPU time of the thread in the JSON)")
    print(
        f"{'kernel':<18}{'numba M/s':>12}{'numpy M/s':>12}{'pandas M/s':>12}"
        f"{'x numpy':>10}{'x pandas':>10}{'/ np.sum':>10}"
    )
    for name, job in numba_jobs.items():
        wall, cpu = median_times(job, repeats)
        rate = n / wall
        np_wall, np_cpu = median_times(numpy_jobs[name], max(3, repeats // 2))
        np_rate = n / np_wall
        row: dict[str, Any] = {
            "numba_per_s": round(rate),
            "numba_cpu_per_s": round(n / cpu),
            "numpy_per_s": round(np_rate),
            "numpy_cpu_per_s": round(n / np_cpu),
            "x_numpy": round(rate / np_rate, 2),
            "of_bandwidth": round(rate / bandwidth, 3),
        }
        pd_text = "-"
        if name in pandas_jobs:
            pd_wall, pd_cpu = median_times(pandas_jobs[name], pandas_repeats)
            pd_rate = n / pd_wall
            row["pandas_per_s"] = round(pd_rate)
            row["pandas_cpu_per_s"] = round(n / pd_cpu)
            row["x_pandas"] = round(rate / pd_rate, 1)
            pd_text = f"{pd_rate / 1e6:,.1f}"
        figures["kernels"][name] = row
        print(
            f"{name:<18}{rate / 1e6:>12,.1f}{np_rate / 1e6:>12,.1f}{pd_text:>12}"
            f"{row['x_numpy']:>10}{row.get('x_pandas', '-'):>10}{row['of_bandwidth']:>10}"
        )

    targets = {}
    for name in ("rolling_sum", "rolling_intensity"):
        k = figures["kernels"][name]
        targets[name] = bool(
            k["numba_per_s"] >= TARGET_READINGS_PER_S and k["x_pandas"] >= TARGET_VS_PANDAS
        )
    figures["targets_met"] = targets
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
