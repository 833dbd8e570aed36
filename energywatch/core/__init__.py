"""The analytics core: pure functions over NumPy arrays, compiled with numba. No I/O.

Every kernel works on many series at once, laid out CSR-style: one flat array per field and
an `offsets` array of length n_series + 1, series `s` occupying `offsets[s]:offsets[s + 1]`,
timestamps ascending within a series (`series.py` builds that layout from unsorted input).
Timestamps are int64 milliseconds since the Unix epoch (UTC).

    jit.py            the one place that sets numba options
    series.py         CSR layout: sort, de-duplicate, offsets
    flags.py          bit flags a kernel sets on a reading
    counters.py       cumulative registers -> interval consumption (resets, rollovers, dips)
    buckets.py        consumption apportioned to 15-minute buckets; readings counted
    timegrid.py       local days and years for a timezone (pure Python)
    rolling.py        time-window sums and ratios on irregular timestamps
    indicators.py     intensity, PUE and supply coal rate on top of rolling ratios
    conversion.py     native units -> tce and tCO2 given coefficient arrays
    coefficients.py   which coefficient applies (pure Python over the reference rows)
    budget.py         year-to-date use against an annual budget, projection to year end
    thresholds.py     alert rule state: thresholds, `for` durations, hysteresis (alerting)
    twins/            slow, obviously correct twins of the kernels, used by the tests
"""
