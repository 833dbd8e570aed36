"""A corpus of bad messages: each refused with its reason, good readings kept, service alive."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from benchmarks.support.registry_rows import add_device, add_site
from energywatch.protocol import MAX_MESSAGE_BYTES
from energywatch.storage.engine import make_engine
from tests.integration.ingest.harness import IngestProcess, Publisher, count
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def good(point: str, minute: int, v: float = 1.0, **extra: object) -> dict[str, object]:
    return {"point": point, "ts": (T0 + timedelta(minutes=minute)).isoformat(), "v": v, **extra}


def msg(*readings: object, seq: int = 1) -> bytes:
    return json.dumps({"seq": seq, "readings": list(readings)}).encode()


@pytest.fixture
def registry(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        s1 = add_site(conn, "S1")
        add_device(conn, s1, "D1", ["E01", "E02"])
        add_device(conn, s1, "D2", ["F01"])  # same site, another device
        s2 = add_site(conn, "S2")
        add_device(conn, s2, "D9", ["X01"])  # another site
    engine.dispose()


def test_each_bad_input_is_dead_lettered_with_its_reason_and_good_readings_stored(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, registry: None
) -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    nan_text = (
        b'{"seq": 5, "readings": [{"point": "E01", "ts": "2026-11-20T09:00:00+00:00", "v": NaN},'
        b' {"point": "E01", "ts": "2026-11-20T09:01:00+00:00", "v": Infinity},'
        b' {"point": "E01", "ts": "2026-11-20T09:02:00+00:00", "v": 1e999},'
        b' {"point": "E02", "ts": "2026-11-20T09:00:00+00:00", "v": 7.5}]}'
    )
    huge = msg(*[good("E01", 1000 + i) for i in range(10)])
    huge = huge[:-2] + b"," + b" " * (MAX_MESSAGE_BYTES + 10) + b"]}"
    d1 = f"{topic_prefix}/S1/D1/readings"
    corpus: list[tuple[str, bytes]] = [
        (d1, b'{"seq": 1, "readings": [{"point": '),  # bad_json
        (d1, b"\xff\xfe not utf-8"),  # bad_json
        (d1, b"[1, 2, 3]"),  # schema, whole message
        (d1, json.dumps({"seq": "x", "readings": [good("E01", 0)]}).encode()),  # schema, whole
        (d1, msg(good("E01", 0), {"point": "E01", "ts": "soon", "v": 1})),  # 1 good, 1 schema
        (d1, msg(good("E01", 1), {"point": "E02", "ts": "2026-11-20T08:01:00", "v": 2})),  # no tz
        (d1, msg(good("E01", 2), {**good("E02", 2), "v": "lots"})),  # schema (type)
        (d1, nan_text),  # 3 non_finite, 1 good
        (d1, msg(good("E01", 3), good("NOPE", 3))),  # unknown_point
        (d1, msg(good("E01", 4), good("X01", 4))),  # point_other_site
        (d1, msg(good("E01", 5), good("F01", 5))),  # point_other_device
        (d1, msg(good("E01", 6, u="kWh"), good("E02", 6, u="MWh"))),  # unit_mismatch
        (d1, msg(good("E01", 7), {"point": "E02", "ts": future, "v": 1.0})),  # future_timestamp
        (d1, huge),  # oversized
        (f"{topic_prefix}/S1/DX/readings", msg(good("E01", 8))),  # unknown_device
        (d1, msg(good("E01", 9, v=1.0))),
        (d1, msg(good("E01", 9, v=2.0))),  # conflict: first value kept
    ]
    expected = {
        "bad_json": 2,
        "schema": 5,
        "non_finite": 3,
        "unknown_point": 1,
        "point_other_site": 1,
        "point_other_device": 1,
        "unit_mismatch": 1,
        "future_timestamp": 1,
        "oversized": 1,
        "unknown_device": 1,
        "conflict": 1,
    }

    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix, batch_max_age_ms=20).start()
    publisher = Publisher(mqtt_broker)
    try:
        for topic, payload in corpus:  # one at a time, so that the conflict comes second
            publisher.publish(topic, [payload])
        wait_until(
            lambda: (ingest.metric('ingest_messages_total{outcome="acked"}') or 0) >= len(corpus),
            30,
            "every message acknowledged",
        )
        with psycopg.connect(db_url) as conn:
            reasons: dict[str, int] = dict(
                conn.execute("SELECT reason, count(*) FROM dead_letters GROUP BY reason").fetchall()
            )
            stored = conn.execute(
                "SELECT p.code, r.ts, r.value FROM readings r JOIN points p ON p.id = r.point_id"
                " ORDER BY r.ts, p.code"
            ).fetchall()
            kept = conn.execute(
                "SELECT value FROM readings WHERE ts = %s", [T0 + timedelta(minutes=9)]
            ).fetchone()
            details = conn.execute(
                "SELECT reason, detail, point, payload, topic FROM dead_letters"
            ).fetchall()
        assert reasons == expected
        # The good readings of the mixed messages: E01 at minutes 0-7 and 9 (its second value at
        # minute 9 is the conflict), E02 at 09:00 from the message with the non-finite values.
        assert [(code, ts) for code, ts, _ in stored] == sorted(
            [("E01", T0 + timedelta(minutes=m)) for m in (0, 1, 2, 3, 4, 5, 6, 7, 9)]
            + [("E02", T0 + timedelta(hours=1))],
            key=lambda x: (x[1], x[0]),
        )
        assert kept is not None and kept[0] == 1.0
        for reason, detail, point, payload, topic in details:
            assert detail and payload and topic.startswith(topic_prefix), (reason, detail)
            if reason in ("unknown_point", "point_other_site", "point_other_device", "conflict"):
                assert point in ("NOPE", "X01", "F01", "E01")
        oversized = next(d for d in details if d[0] == "oversized")
        assert len(oversized[3]) < 70_000  # the stored payload is truncated
        for reason, n in expected.items():
            assert ingest.metric(f'ingest_rejected_total{{reason="{reason}"}}') == n
        assert ingest.running(), ingest.output()
        assert count(db_url) == 10
    finally:
        publisher.close()
        assert ingest.stop() == 0, ingest.output()


def test_a_message_the_database_refuses_is_dead_lettered_alone(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, registry: None
) -> None:
    with psycopg.connect(db_url) as conn:  # stands for any refusal that is not an outage
        conn.execute("ALTER TABLE readings ADD CONSTRAINT no_666 CHECK (value <> 666)")
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix, batch_max_age_ms=300).start()
    publisher = Publisher(mqtt_broker)
    try:
        topic = f"{topic_prefix}/S1/D1/readings"
        publisher.publish(
            topic,
            [
                msg(good("E01", 0), seq=1),
                msg(good("E01", 1), good("E02", 1, v=666.0), seq=2),
                msg(good("E01", 2), seq=3),
            ],
        )
        wait_until(
            lambda: (ingest.metric('ingest_messages_total{outcome="acked"}') or 0) >= 3,
            30,
            "every message acknowledged",
        )
        assert count(db_url) == 2
        assert (
            count(
                db_url,
                "SELECT count(*) FROM dead_letters WHERE reason = 'internal_error'"
                " AND detail LIKE '%no_666%' AND payload LIKE '%666%'",
            )
            == 1
        )
        assert ingest.running()
    finally:
        publisher.close()
        assert ingest.stop() == 0, ingest.output()


def test_nul_and_lone_surrogates_are_dead_lettered_and_the_next_message_is_stored(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, registry: None
) -> None:
    # PostgreSQL text holds neither; such a message once wedged the writer (NUL: refused for
    # ever) or killed it (surrogate: an encoding error).
    topic = f"{topic_prefix}/S1/D1/readings"
    ts = T0.isoformat()
    poison = [
        b'{"seq":1,"readings":[{"point":"E0\\u0000","ts":"' + ts.encode() + b'","v":1}]}',
        b'{"seq":2,"readings":[{"point":"E0\x00","ts":"' + ts.encode() + b'","v":1}]}',
        b'{"seq":3,"readings":[{"point":"\\udc00","ts":"' + ts.encode() + b'","v":1}]}',
        b'{"seq":4,"readings":[{"point":"E01","ts":"' + ts.encode() + b'","v":1,"u":"\\ud800"}]}',
    ]
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix, batch_max_age_ms=20).start()
    publisher = Publisher(mqtt_broker)
    try:
        for payload in poison:
            publisher.publish(topic, [payload])
        publisher.publish(topic, [msg(good("E02", 0, v=42.0), seq=5)])
        wait_until(lambda: count(db_url) == 1, 30, "the good message after the poison stored")
        wait_until(
            lambda: count(db_url, "SELECT count(*) FROM dead_letters") == len(poison),
            30,
            "every poison message dead-lettered",
        )
        assert ingest.running(), ingest.output()
        assert "Traceback" not in ingest.output()
    finally:
        publisher.close()
        assert ingest.stop() == 0, ingest.output()


def test_ingest_exits_non_zero_when_a_writer_dies(
    db_url: str, mqtt_broker: BrokerAddress, topic_prefix: str, registry: None
) -> None:
    # A database that refuses the message and then its dead letter too leaves the writer no
    # way to go on: the process must stop with a failure status so its supervisor restarts it.
    with psycopg.connect(db_url) as conn:
        conn.execute("ALTER TABLE readings ADD CONSTRAINT no_666 CHECK (value <> 666)")
        conn.execute("ALTER TABLE dead_letters ADD CONSTRAINT none_at_all CHECK (false)")
    ingest = IngestProcess(db_url, mqtt_broker, topic_prefix, batch_max_age_ms=20).start()
    publisher = Publisher(mqtt_broker)
    try:
        publisher.publish(f"{topic_prefix}/S1/D1/readings", [msg(good("E01", 0, v=666.0))])
        wait_until(lambda: not ingest.running(), 60, "ingest to stop")
        assert ingest.stop() != 0, ingest.output()
        assert "an ingest thread died" in ingest.output()
        assert count(db_url) == 0
    finally:
        publisher.close()
        ingest.stop()
