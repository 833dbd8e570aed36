"""Pure pieces of alerting: silences, signatures, e-mail rendering, recipients, backoff, the
rollup ring."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from services.alerting.delivery import RetryPolicy
from services.alerting.notify import Contacts, targets
from services.alerting.rollup_cache import BUCKET_S, ROW, RollupCache
from services.alerting.rules import Recipient
from services.alerting.senders import render_email, sign, verify
from services.alerting.silences import Silence, check_matchers, first_covering

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def test_silence_matching_and_activity():
    s = Silence(
        7,
        {"region": "1401", "severity": "warning"},
        NOW - timedelta(hours=1),
        NOW + timedelta(hours=1),
    )
    labels = {"region": "140105", "severity": "warning", "rule": "x"}
    assert s.active(NOW) and s.covers(labels)
    assert not s.covers({**labels, "region": "320100"})
    assert not s.covers({**labels, "severity": "critical"})
    assert not s.active(NOW + timedelta(hours=2))
    assert first_covering([s], labels, NOW) == 7
    assert first_covering([s], labels, NOW + timedelta(hours=2)) is None


def test_daily_maintenance_window_across_midnight():
    s = Silence(
        1,
        {},
        NOW - timedelta(days=1),
        NOW + timedelta(days=10),
        time(23, 0),
        time(1, 0),
        "Asia/Shanghai",
    )
    assert s.active(datetime(2026, 11, 22, 15, 30, tzinfo=UTC))  # 23:30 local
    assert s.active(datetime(2026, 11, 22, 16, 30, tzinfo=UTC))  # 00:30 local
    assert not s.active(datetime(2026, 11, 22, 17, 30, tzinfo=UTC))  # 01:30 local


def test_matchers_are_checked():
    assert check_matchers({"site": "S1"}) == {"site": "S1"}
    with pytest.raises(ValueError, match="unknown keys"):
        check_matchers({"plant": "S1"})
    with pytest.raises(ValueError, match="non-empty"):
        check_matchers({"site": ""})


def test_signature_round_trip_and_tamper():
    body = b'{"a": 1}'
    signature = sign(b"k", "1700000000", body)
    assert signature.startswith("sha256=")
    assert verify(b"k", "1700000000", body, signature)
    assert not verify(b"k", "1700000001", body, signature)
    assert not verify(b"other", "1700000000", body, signature)
    assert not verify(b"k", "1700000000", b'{"a": 2}', signature)


def test_email_carries_the_key_and_facts():
    mail = render_email(
        "from@x.org",
        "to@x.org",
        "alert:1:firing:critical:email:to@x.org",
        {
            "event": "firing",
            "severity": "critical",
            "rule": "r",
            "subject": "site:S1",
            "value": 140.0,
            "unit": "kgce/t",
            "threshold": 135.0,
            "source": "GB 21342",
        },
    )
    assert mail["X-EnergyWatch-Idempotency-Key"] == "alert:1:firing:critical:email:to@x.org"
    assert mail["Subject"] == "[EnergyWatch] CRITICAL firing: r site:S1"
    text = mail.get_content()
    assert "140.0 kgce/t (threshold 135.0)" in text and "GB 21342" in text


def test_targets_resolve_contacts_by_site_and_region():
    contacts = Contacts(
        {5: [("email", "ops@s5.cn")]},
        [
            ("14", "webhook", "https://prov"),
            ("1401", "email", "city@ty.cn"),
            ("32", "email", "js@js.cn"),
        ],
    )
    recipients = (
        Recipient(webhook="https://a"),
        Recipient(contacts="operator"),
        Recipient(contacts="regulator"),
        Recipient(webhook="https://a"),
    )
    assert targets(recipients, 5, "140105", contacts) == [
        ("webhook", "https://a"),
        ("email", "ops@s5.cn"),
        ("webhook", "https://prov"),
        ("email", "city@ty.cn"),
    ]


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(max_attempts=10, base_s=2, max_s=60)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 6, 9)] == [2, 4, 8, 60, 60]


def _rollup_rows(*rows: tuple[int, int, float, float, float, float]) -> np.ndarray:
    return np.array(list(rows), dtype=ROW)


def test_rollup_ring_keeps_the_newest_bucket_per_slot():
    cache = RollupCache(horizon=timedelta(hours=1))
    cache._layout([10, 20], [10, 20])
    b = int(NOW.timestamp()) // BUCKET_S
    cache._store(
        _rollup_rows(
            (10, b - 1, 1.0, 0.1, 0.2, 1.0),
            (10, b - 2, 2.0, 0.2, 0.4, 0.5),
            (20, b - 1, 5.0, 0.5, 1.0, 1.0),
            (99, b - 1, 9.0, 9, 9, 9),
        )
    )
    sums, counts = cache.window_sums(b - 4, b)
    np.testing.assert_allclose(sums[0], [3.0, 5.0])
    np.testing.assert_array_equal(counts, [2, 1])
    # A rewrite of a bucket replaces it; a bucket one ring-length later reuses its slot.
    cache._store(
        _rollup_rows((10, b - 1, 4.0, 0.4, 0.8, 1.0), (10, b - 2 + cache.n_slots, 7.0, 0, 0, 1.0))
    )
    sums, _ = cache.window_sums(b - 4, b)
    np.testing.assert_allclose(sums[0], [4.0, 5.0])  # b - 2 fell out of the ring
    # An old row never evicts a newer one.
    cache._store(_rollup_rows((10, b - 2, 2.0, 0.2, 0.4, 0.5)))
    sums, _ = cache.window_sums(b - 2 + cache.n_slots, b - 1 + cache.n_slots)
    np.testing.assert_allclose(sums[0], [7.0, 0.0])


def test_rollup_ring_keeps_sums_of_summed_points_and_completeness_of_all():
    cache = RollupCache(horizon=timedelta(hours=1))
    cache._layout([10, 20, 30], [20])
    b = int(NOW.timestamp()) // BUCKET_S
    cache._store(
        _rollup_rows(
            (10, b - 1, 1.0, 0.1, 0.2, 0.5),
            (20, b - 1, 5.0, 0.5, 1.0, 1.5),  # counts at most whole, as the SQL path reads it
            (20, b - 2, 6.0, 0.6, 1.2, 1.0),
        )
    )
    sums, counts = cache.window_sums(b - 4, b)
    np.testing.assert_allclose(sums, [[0.0, 11.0, 0.0], [0.0, 1.1, 0.0], [0.0, 2.2, 0.0]])
    np.testing.assert_array_equal(counts, [0, 2, 0])
    rows = cache.rows_of([30, 20, 10, 99])
    np.testing.assert_array_equal(rows, [2, 1, 0, -1])
    np.testing.assert_allclose(cache.window_completeness(b - 4, b, rows[:3]), [0.0, 2.0, 0.5])
    # The window is clipped to the ring: buckets beyond the newest hold nothing yet.
    assert cache.window_completeness(b, b + cache.n_slots, rows[:3]).tolist() == [0, 0, 0]
