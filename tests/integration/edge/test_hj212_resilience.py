"""What real data loggers send beyond the textbook packet: bad clocks, noise before the header,
packets glued without CRLF or cut short, split uploads, per-factor sample times and corrected
values. Real listener, real socket, real broker."""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.edge.hj212_packets import connect, packet, station_config, upload
from tests.integration.edge.support import collecting, running_agent
from tests.support.services import BrokerAddress

SO2 = {"point": "SO2", "code": "a21026", "cn": 2011}


def realtime(qn: str, value: float, data_time: str = "20261120081500") -> str:
    return upload(2011, qn, f"DataTime={data_time};a21026-Rtd={value},a21026-Flag=N")


def test_a_year_0_packet_is_refused_with_a_reason_and_the_next_one_arrives(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    config = station_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, [SO2])
    # Two days ahead of the gateway's clock, as the logger's +08:00 wall clock: also refused
    # (device_clock_ahead_s is one day).
    ahead = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 2 * 86_400 + 8 * 3600))
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
        connect(agent) as conn,
    ):
        f = conn.makefile("rb")
        conn.sendall(packet(realtime("20261120081500001", 1.5, "00010101000000")))
        reply = f.readline()
        assert b"CN=9011;" in reply and b"QnRtn=2&&" in reply  # refused, so no 9014
        conn.sendall(packet(realtime("20261120081500002", 2.5, ahead)))
        assert b"QnRtn=2&&" in f.readline()
        # Minute data where only real-time points are configured: counted, answered as received.
        minute = upload(2051, "20261120081500004", "DataTime=20261120081400;a21026-Avg=1.0")
        conn.sendall(packet(minute))
        assert b"CN=9014;" in f.readline()
        conn.sendall(packet(realtime("20261120081500003", 3.5)))
        assert b"CN=9014;" in f.readline()
        col.wait_for(lambda: any(v == 3.5 for _, _, v, _, _ in col.readings()))
        assert agent.metrics.refused("hj212", "timestamp") == 2
        assert agent.metrics.refused("hj212", "no_points") == 1
        col.wait_for(lambda: agent.queue.depth == 0)
    assert [v for _, _, v, _, _ in col.readings()] == [3.5]


def test_noise_glued_and_cut_short_packets_lose_nothing_that_is_intact(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    config = station_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, [SO2])
    intact = [
        packet(realtime(f"2026112008150{i:04d}", float(i), f"2026112008{i:02d}00"))
        for i in range(1, 9)
    ]
    no_reply = [p.replace(b"Flag=5", b"Flag=4") for p in intact]  # same length: CRC redone below
    no_reply = [packet(p[6:-6].decode()) for p in no_reply]
    stream = (
        b"\x00\x13xyz"  # noise before the header, no CRLF
        + no_reply[0]
        + no_reply[1][:-2]  # glued: no CRLF between packets
        + no_reply[2][:-2]
        + no_reply[3][:40]  # cut short (a logger reset) ...
        + no_reply[4]  # ... and the next packet right behind it
        + b"###"  # a stray '#' before a header
        + no_reply[5][2:]
        + b"##12"  # a header with no length
        + no_reply[6]
        + b"\r\n\r\n"
        + no_reply[7]
    )
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
        connect(agent) as conn,
    ):
        # Byte-sized pieces as well as one write: reads split and join packets at will.
        for i in range(0, len(stream), 7):
            conn.sendall(stream[i : i + 7])
        expected = {1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0}
        col.wait_for(lambda: expected <= {v for _, _, v, _, _ in col.readings()})
        m = agent.metrics
        assert m.refused("hj212", "header") == 1
        assert m.refused("hj212", "truncated") == 1
        assert m.refused("hj212", "length") == 2  # "###" and "##12"
    assert 4.0 not in {v for _, _, v, _, _ in col.readings()}


def test_a_split_upload_is_joined_at_a_group_boundary_and_each_part_answered(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    points = [SO2, {"point": "NOX", "code": "a21002", "cn": 2011}]
    config = station_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, points)
    qn = "20261120081500777"
    first = upload(
        2011, qn, "DataTime=20261120081500;a21026-Rtd=11.5,a21026-Flag=N", 7, "PNUM=2;PNO=1;"
    )
    second = upload(2011, qn, "a21002-Rtd=22.5,a21002-Flag=N", 7, "PNUM=2;PNO=2;")
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
        connect(agent) as conn,
    ):
        f = conn.makefile("rb")
        conn.sendall(packet(first))
        assert b"CN=9014;" in f.readline()  # the logger sends part 2 only after this
        conn.sendall(packet(second))
        assert b"CN=9014;" in f.readline()
        col.wait_for(lambda: {"SO2", "NOX"} <= {p for p, *_ in col.readings()})
        assert agent.metrics.refused("hj212") == 0
    got = {p: (ts, v) for p, ts, v, _, _ in col.readings()}
    assert got == {
        "SO2": ("2026-11-20T08:15:00+08:00", 11.5),
        "NOX": ("2026-11-20T08:15:00+08:00", 22.5),
    }


def test_sample_time_corrected_values_and_flags_reach_the_readings(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    points = [
        SO2,
        {"point": "SO2_ZS", "code": "a21026", "cn": 2011, "field": "ZsRtd"},
        {"point": "PM", "code": "a34013", "cn": 2011},
    ]
    config = station_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, points)
    cp = (
        "DataTime=20261120081500;a21026-Rtd=18.5,a21026-ZsRtd=25.1,a21026-Flag=D;"
        "a34013-SampleTime=20261120081230,a34013-Rtd=3.1,a34013-Flag=N"
    )
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
        connect(agent) as conn,
    ):
        conn.sendall(packet(upload(2011, "20261120081500001", cp)))
        assert b"CN=9014;" in conn.makefile("rb").readline()
        col.wait_for(lambda: {"SO2", "SO2_ZS", "PM"} <= {p for p, *_ in col.readings()})
        assert agent.metrics.refused("hj212") == 0
    got = {p: (ts, v, q) for p, ts, v, q, _ in col.readings()}
    assert got["SO2"] == ("2026-11-20T08:15:00+08:00", 18.5, 2)  # D: invalid
    assert got["SO2_ZS"] == ("2026-11-20T08:15:00+08:00", 25.1, 2)  # the group's flag
    assert got["PM"] == ("2026-11-20T08:12:30+08:00", 3.1, 0)  # its own SampleTime
