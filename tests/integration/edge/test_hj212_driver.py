"""The HJ 212 listener with packets built from the standard's format over a real socket."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.integration.edge.hj212_packets import MN, crc16, packet, upload
from tests.integration.edge.support import collecting, edge_config, running_agent
from tests.support.services import BrokerAddress
from tests.support.waiting import wait_until


def test_station_uploads_become_readings_and_bad_packets_are_refused(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    driver = {
        "kind": "hj212",
        "listen_host": "127.0.0.1",
        "listen_port": 0,
        "loggers": [
            {
                "mn": MN,
                "password": "123456",
                "points": [
                    {"point": "SO2", "code": "a21026", "cn": 2011, "unit": "mg/m3"},
                    {"point": "NOX", "code": "a21002", "cn": 2011},
                    {"point": "PM", "code": "a34013", "cn": 2011},
                    {"point": "SO2_H", "code": "a21026", "cn": 2061},
                    {"point": "NOX_D", "code": "a21002", "cn": 2031, "field": "Max"},
                ],
            }
        ],
    }
    config = edge_config(tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, [driver])
    realtime = upload(
        2011,
        "20261120081500001",
        "DataTime=20261120081500;a21026-Rtd=18.5,a21026-Flag=N;"
        "a21002-Rtd=41.2,a21002-Flag=M;a34013-Rtd=3.1,a34013-Flag=S",
    )
    hourly = upload(
        2061,
        "20261120090000002",
        "DataTime=20261120080000;a21026-Avg=20.1,a21026-Min=15.0,a21026-Max=25.2,a21026-Flag=N",
        flag=4,  # no reply asked
    )
    daily = upload(2031, "20261121000000003", "DataTime=20261120000000;a21002-Avg=30,a21002-Max=44")
    with (
        collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col,
        running_agent(config) as agent,
    ):
        hj = agent.drivers[0]
        wait_until(lambda: getattr(hj, "port", None) is not None, 5, "the HJ 212 listener")
        with socket.create_connection(("127.0.0.1", hj.port), timeout=5) as conn:  # type: ignore[attr-defined]
            f = conn.makefile("rb")
            conn.sendall(packet(realtime))
            reply = f.readline()
            assert b"ST=91;CN=9014;" in reply and b"QN=20261120081500001;" in reply
            assert reply.endswith(b"\r\n") and int(reply[-6:-2], 16) == crc16(reply[6:-6])
            # Refused packets that ask for a reply get a request reply (CN 9011) with the
            # QnRtn of the refusal; those without a trustworthy header get none.
            bad = [
                (packet(realtime, crc=0x1234), b"QnRtn=9&&"),  # bad CRC
                (packet(realtime, length=len(realtime) + 3), None),  # wrong length
                (
                    packet(upload(2099, "20261120081500009", "DataTime=20261120081500")),
                    b"QnRtn=8&&",
                ),
                (packet(realtime.replace("PW=123456", "PW=000000")), b"QnRtn=3&&"),
                (packet(realtime.replace(MN, "99999990000009")), b"QnRtn=4&&"),
                (b"garbage without a header\r\n", None),
            ]
            for p, answer in bad:
                conn.sendall(p)
                if answer is not None:
                    reply = f.readline()
                    assert b"ST=91;CN=9011;" in reply and reply.endswith(answer + reply[-6:])
            conn.sendall(packet(hourly))
            conn.sendall(packet(daily))
            reply = f.readline()  # only the daily upload asks for a reply
            assert b"QN=20261121000000003;" in reply and b"CN=9014;" in reply
        col.wait_for(
            lambda: {"SO2", "NOX", "PM", "SO2_H", "NOX_D"} <= {p for p, *_ in col.readings()}
        )
        m = agent.metrics
        assert m.refused("hj212", "crc") == 1
        assert m.refused("hj212", "length") == 1
        assert m.refused("hj212", "unknown_cn") == 1
        assert m.refused("hj212", "password") == 1
        assert m.refused("hj212", "unknown_mn") == 1
        assert m.refused("hj212", "header") == 1
        # A logger that sends 20,000 bytes of noise after a header loses only that: the
        # packet behind it on the same connection is taken.
        with socket.create_connection(("127.0.0.1", hj.port), timeout=5) as flood:  # type: ignore[attr-defined]
            flood.sendall(b"##" + b"9" * 20_000)
            flood.sendall(packet(realtime.replace("QN=20261120081500001", "QN=20261120081600001")))
            assert b"QN=20261120081600001;" in flood.makefile("rb").readline()
        assert m.refused("hj212", "crc") == 2
    got = {p: (ts, v, q) for p, ts, v, q, _ in col.readings()}
    assert got["SO2"] == ("2026-11-20T08:15:00+08:00", 18.5, 0)
    assert got["NOX"] == ("2026-11-20T08:15:00+08:00", 41.2, 2)  # M: maintenance -> invalid
    assert got["PM"] == ("2026-11-20T08:15:00+08:00", 3.1, 3)  # S: manual
    assert got["SO2_H"] == ("2026-11-20T08:00:00+08:00", 20.1, 0)
    assert got["NOX_D"] == ("2026-11-20T00:00:00+08:00", 44.0, 0)
    units = [r.u for m in col.messages for r in m.readings if r.point == "SO2"]
    assert set(units) == {"mg/m3"}  # the re-sent upload repeats the reading (same point, ts)
