"""The registry snapshot the evaluation groups share: when it reloads, and who waits."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from services.alerting import registry as registry_module
from services.alerting.registry import Registry, SharedRegistry


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Registry]:
    """Each load returns a new snapshot and is recorded."""
    made: list[Registry] = []

    def load(conn: Any) -> Registry:
        made.append(Registry())
        return made[-1]

    monkeypatch.setattr(registry_module, "load_registry", load)
    return made


def test_reloaded_when_told_of_a_change_after_its_load_began(loads: list[Registry]) -> None:
    clock = Clock()
    shared = SharedRegistry(ttl_s=3600, clock=clock)
    first = shared.get(None)  # type: ignore[arg-type]
    clock.now += 1
    assert shared.get(None) is first  # type: ignore[arg-type]
    shared.invalidate(at=clock.now - 5)  # a change from before the load: already in it
    assert shared.get(None) is first  # type: ignore[arg-type]
    shared.invalidate()  # a change now
    clock.now += 1
    second = shared.get(None)  # type: ignore[arg-type]
    assert second is not first and len(loads) == 2
    clock.now += 3601  # the backstop
    assert shared.get(None) is not second  # type: ignore[arg-type]
    assert len(loads) == 3


def test_a_group_keeps_its_snapshot_while_the_other_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    shared = SharedRegistry(ttl_s=3600, clock=clock)
    old, new = Registry(), Registry()
    entered, release = threading.Event(), threading.Event()
    queue = [old, new]

    def load(conn: Any) -> Registry:
        snapshot = queue.pop(0)
        if snapshot is new:
            entered.set()
            assert release.wait(10)
        return snapshot

    monkeypatch.setattr(registry_module, "load_registry", load)
    assert shared.get(None) is old  # type: ignore[arg-type]
    shared.invalidate()
    clock.now += 1
    got: list[Registry] = []
    loader = threading.Thread(target=lambda: got.append(shared.get(None)))  # type: ignore[arg-type]
    loader.start()
    assert entered.wait(10)
    assert shared.get(None) is old  # type: ignore[arg-type]  # not blocked by the load
    release.set()
    loader.join(10)
    assert got == [new] and shared.get(None) is new  # type: ignore[arg-type]


def test_a_snapshot_is_reloaded_only_if_nobody_listened_meanwhile(loads: list[Registry]) -> None:
    clock = Clock()
    shared = SharedRegistry(ttl_s=3600, clock=clock)
    with shared.listening():  # the first group connects
        clock.now += 1
        first = shared.get(None)  # type: ignore[arg-type]
        clock.now += 1
        with shared.listening():  # the second: the first has been listening all along
            assert shared.get(None) is first  # type: ignore[arg-type]
    clock.now += 1
    assert shared.get(None) is first  # type: ignore[arg-type]  # nobody listens, nothing known
    with shared.listening():  # back after a time nobody listened: changes may be unheard
        clock.now += 1
        assert shared.get(None) is not first  # type: ignore[arg-type]
    assert len(loads) == 2
