"""Store history and compaction, the sandbox clock, and resource quantities."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from sandbox.api.quantity import parse_quantity
from sandbox.api.store import Store
from sandbox.clock import SandboxClock


def _put(store: Store, name: str) -> int:
    obj = store.put(("", "configmaps"), {"metadata": {"name": name, "namespace": "d"}}, "ADDED")
    return int(obj["metadata"]["resourceVersion"])


def test_history_is_bounded_and_old_versions_expire() -> None:
    """Beyond its history the store forgets events; the oldest watchable version moves up."""
    store = Store(history=5)
    first = _put(store, "a")
    for i in range(20):
        _put(store, f"b{i}")
    assert store.oldest_watchable_rv > first
    assert len(store.events_after(store.oldest_watchable_rv)) <= 10


def test_events_after_returns_later_events_in_order() -> None:
    """events_after gives the events newer than a version, oldest first."""
    store = Store()
    rv = _put(store, "a")
    _put(store, "b")
    _put(store, "c")
    assert [e.obj["metadata"]["name"] for e in store.events_after(rv)] == ["b", "c"]


def test_clock_runs_at_speed() -> None:
    """Sandbox time advances `speed` times faster than real time."""
    clock = SandboxClock(speed=1000)
    start = clock.now()
    time.sleep(0.05)
    assert clock.now() - start >= 40
    with pytest.raises(ValueError):
        SandboxClock(speed=0)


def test_quantities() -> None:
    """Binary and decimal suffixes and millis parse exactly; garbage is a ValueError."""
    assert parse_quantity("64Gi") == Decimal(64 * 2**30)
    assert parse_quantity("500m") == Decimal("0.5")
    assert parse_quantity("2") == 2
    with pytest.raises(ValueError):
        parse_quantity("two")


def test_speed_change_keeps_time_continuous() -> None:
    """Changing the speed neither jumps the clock back nor forward."""
    clock = SandboxClock(speed=1000)
    before = clock.now()
    clock.set_speed(1)
    after = clock.now()
    assert 0 <= after - before < 5
