from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import PASSWORD_ENV, load_config
from energywatch.errors import SettingsError

GOOD = """
site: SX-TY-0001
device: gw01
mqtt: {host: broker.example, username: gw01, tls: {enabled: true}}
drivers:
  - kind: simulator
    points: [{point: E01, profile: electricity_kwh}]
  - kind: dlt645
    host: 10.0.0.9
    port: 4001
    meters:
      - address: "000000000001"
        points: [{point: E02, identifier: "00010000"}]
"""


def test_good_config_loads_with_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    config = load_config(path)
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "s3cret"
    assert config.all_point_codes() == ["E01", "E02"]
    assert config.tz.utcoffset(None).total_seconds() == 8 * 3600


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("site: SX-TY-0001", "site: bad/site"), "site"),
        (('identifier: "00010000"', 'identifier: "0001"'), "identifier"),
        (('identifier: "00010000"', 'identifier: "04000101"'), "not supported"),
        (('identifier: "00010000"', 'identifier: "02010100", unit: kWh'), "in V, not kWh"),
        (('address: "000000000001"', 'address: "12"'), "address"),
        (("point: E02", "point: E01"), "used twice"),
        (("kind: dlt645", "kind: bacnet"), "drivers"),
    ],
)
def test_bad_configs_are_refused_with_a_readable_message(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(SettingsError, match=message):
        load_config(path)
