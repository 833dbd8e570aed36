"""`energywatch rollup --once` through the function the CLI calls."""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest

from energywatch.settings import load_settings
from services.rollup.command import AUTOVACUUM_OFF, QueueVacuum, rebuild_all, run
from tests.integration.rollup.support import (
    START,
    make_point,
    make_site,
    minutes,
    scalar,
    write_readings,
)


def test_once_drains_every_dirty_bucket(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        site = make_site(conn)
        product = make_point(conn, site, "P01", "product", "cumulative", scale=0.001)
        write_readings(conn, product, [(START + minutes(m), 1000.0 * m, 0) for m in range(31)])
    run(load_settings(demo=True, database={"url": db_url}), once=True)
    with psycopg.connect(db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM dirty_buckets") == 0
        # 30 t of product (the register counts kg, scale 0.001); no tce, no CO2
        assert scalar(conn, "SELECT sum(quantity) FROM consumption_15min") == 30.0
        assert scalar(conn, "SELECT sum(tce) + sum(tco2) FROM consumption_15min") == 0.0


def test_rebuild_all_recomputes_after_a_scale_change(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        site = make_site(conn)
        meter = make_point(conn, site, "E01", "electricity", "cumulative")
        write_readings(conn, meter, [(START + minutes(m), float(m), 0) for m in range(16)])
    settings = load_settings(demo=True, database={"url": db_url})
    run(settings, once=True)
    with psycopg.connect(db_url) as conn:
        assert scalar(conn, "SELECT sum(quantity) FROM consumption_15min") == 15.0
        conn.execute("UPDATE points SET scale = 10 WHERE id = %s", (meter,))
        conn.commit()
    rebuild_all(settings)
    with psycopg.connect(db_url) as conn:
        assert scalar(conn, "SELECT sum(quantity) FROM consumption_15min") == 150.0


def vacuums(db_url: str) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return scalar(
            conn,
            "SELECT sum(vacuum_count) FROM pg_stat_user_tables"
            " WHERE relname IN ('dirty_buckets', 'dirty_bucket_log')",
        )


def test_the_dirty_mark_queues_are_vacuumed_every_minute(db_url: str) -> None:
    before = vacuums(db_url)
    queues = QueueVacuum(db_url, every_s=60.0)
    assert queues.maybe(1000.0)
    assert vacuums(db_url) == before + 2  # both tables
    assert not queues.maybe(1059.0)  # not due yet
    assert queues.maybe(1060.0)
    assert vacuums(db_url) == before + 4


def test_the_vacuum_thread_vacuums_at_once_and_stops_when_told(db_url: str) -> None:
    before = vacuums(db_url)
    stop = threading.Event()
    queues = QueueVacuum(db_url, every_s=3600.0)
    thread = threading.Thread(target=queues.keep_vacuuming, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while vacuums(db_url) < before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the server's counter, not a fixed wait
        assert vacuums(db_url) == before + 2
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()  # a vacuum an hour away does not hold the stop


def test_a_failed_vacuum_is_logged_and_tried_when_next_due(
    empty_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    queues = QueueVacuum(empty_db_url, every_s=60.0)  # no tables: the VACUUM itself fails
    assert not queues.maybe(0.0)
    assert "vacuum of the dirty-mark tables failed" in caplog.text
    assert not queues.maybe(30.0) and queues.next_at == 60.0


def test_a_database_away_is_left_to_the_passes_to_report(caplog: pytest.LogCaptureFixture) -> None:
    # The passes' loop says in one line that the database is away; the vacuum adds no second.
    queues = QueueVacuum("postgresql://nobody@127.0.0.1:1/none", every_s=60.0)
    with caplog.at_level(logging.WARNING):
        assert not queues.maybe(0.0)
    assert caplog.text == ""
    assert queues.next_at == 60.0


def autovacuum_warnings(url: str, caplog: pytest.LogCaptureFixture) -> int:
    caplog.clear()
    queues = QueueVacuum(url, every_s=60.0)
    with caplog.at_level(logging.WARNING, logger="services.rollup.command"):
        assert queues.maybe(0.0) and queues.maybe(60.0)
    return caplog.text.count(AUTOVACUUM_OFF)


def test_the_first_vacuum_says_when_the_server_does_not_autovacuum(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Without track_counts autovacuum has nothing to go by; a superuser may turn it off for
    # one session, which makes the warning's case reproducible on any server.
    sep = "&" if "?" in db_url else "?"
    assert autovacuum_warnings(f"{db_url}{sep}options=-ctrack_counts%3Doff", caplog) == 1
    # The server's own setting: whichever it is, the warning follows it, once, not per vacuum.
    with psycopg.connect(db_url, autocommit=True) as conn:
        runs = scalar(conn, "SHOW autovacuum") == "on" and scalar(conn, "SHOW track_counts") == "on"
    assert autovacuum_warnings(db_url, caplog) == (0 if runs else 1)
