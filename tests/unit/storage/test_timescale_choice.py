"""Whether `db upgrade` takes the TimescaleDB path, from what the server offers (pure)."""

from __future__ import annotations

import pytest

from energywatch.errors import StorageError
from energywatch.storage.timescale import choose


def test_a_server_that_preloads_timescaledb_gets_it_unless_refused() -> None:
    assert choose(None, available=True, preloaded=True).use
    assert choose(True, available=True, preloaded=True).use
    assert not choose(False, available=True, preloaded=True).use


def test_without_the_extension_plain_tables_unless_required() -> None:
    assert choose(None, available=False, preloaded=False) == choose(False, False, False)
    assert not choose(None, available=False, preloaded=False).use
    with pytest.raises(StorageError, match="has no timescaledb extension"):
        choose(True, available=False, preloaded=False)


def test_installed_but_not_preloaded_warns_and_goes_plain_when_unset() -> None:
    choice = choose(None, available=True, preloaded=False)
    assert not choice.use
    assert choice.warning is not None
    assert "shared_preload_libraries = 'timescaledb'" in choice.warning
    assert "stay plain" in choice.warning


def test_installed_but_not_preloaded_stops_with_one_line_when_required() -> None:
    with pytest.raises(StorageError) as refused:
        choose(True, available=True, preloaded=False)
    message = str(refused.value)
    assert "\n" not in message
    assert "shared_preload_libraries = 'timescaledb'" in message
    assert "restart PostgreSQL" in message
