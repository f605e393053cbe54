"""A follower knows who holds the Lease and since when, shows it on /status and logs it at most
once a minute; /readyz means the process can serve, whatever the last pass did."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from reconciler.daemon.daemon import Daemon
from reconciler.daemon.leader import ElectionTiming, LeaderElector
from reconciler.daemon.protocols import ReconcileReport
from schemas.results import ReconcileOutcome
from tests.daemon.fakes import MemoryLeaseStore, ScriptedRunner
from tests.daemon.gitrepos import init_repo
from tests.daemon.processes import wait_until
from tests.daemon.test_daemon import get, settings_for

TIMING = ElectionTiming(lease_duration_s=15, renew_deadline_s=10, retry_period_s=2)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _following(logs: list[dict[str, object]]) -> list[dict[str, object]]:
    return [entry for entry in logs if entry["event"] == "following the Lease holder"]


def test_follower_knows_the_holder_and_since_when() -> None:
    """The follower's holder() names the leader and the Lease's acquire time."""
    store, clock = MemoryLeaseStore(), Clock()
    a = LeaderElector(store, "a", TIMING, clock=clock)
    b = LeaderElector(store, "b", TIMING, clock=clock)
    a.try_acquire_or_renew()
    b.try_acquire_or_renew()
    held = b.holder()
    assert held is not None and held.identity == "a"
    record = store.get()
    assert record is not None and held.since == record.acquire_time
    assert held.as_json()["since"] == record.acquire_time.isoformat()


def test_follower_logs_the_holder_at_most_once_a_minute() -> None:
    """Rounds every 2 s for two minutes: the holder is logged at the first round, then once a minute."""
    store, clock = MemoryLeaseStore(), Clock()
    a = LeaderElector(store, "a", TIMING, clock=clock)
    b = LeaderElector(store, "b", TIMING, clock=clock)
    with structlog.testing.capture_logs() as logs:
        for _ in range(61):  # 0 s … 120 s
            a.try_acquire_or_renew()
            b.try_acquire_or_renew()
            clock.now += 2.0
    lines = _following(logs)
    assert len(lines) == 3  # at 0 s, 60 s and 120 s
    assert {line["holder"] for line in lines} == {"a"}


def test_follower_logs_at_once_when_the_holder_changes() -> None:
    """A new holder is logged at the next round, even within the minute."""
    store, clock = MemoryLeaseStore(), Clock()
    a, b, c = (LeaderElector(store, name, TIMING, clock=clock) for name in "abc")
    a.try_acquire_or_renew()
    with structlog.testing.capture_logs() as logs:
        c.try_acquire_or_renew()
        a.release()
        b.try_acquire_or_renew()  # b takes the released Lease
        clock.now += 2.0
        c.try_acquire_or_renew()
    assert [line["holder"] for line in _following(logs)] == ["a", "b"]


def test_status_shows_the_holder_and_readyz_ignores_a_failing_revision(tmp_path, daemons) -> None:
    """Replica b follows a: /status names a as holder. Every pass of a fails: a stays ready
    (the webhook bringing the fix must reach it), /status and the metrics say it is failing."""
    init_repo(tmp_path / "repo")
    store = MemoryLeaseStore()

    def failing(item, should_stop):
        return ReconcileReport(item.revision, ReconcileOutcome.FAILED, error="HTTP 404 NotFound: x",
                               retryable=True)

    timing = {"lease_duration": "3s", "renew_deadline": "2s", "retry_period": "0.05s", "backoff_base": "10s"}
    a = Daemon(settings_for(str(tmp_path / "repo"), tmp_path, identity="a", **timing),
               lambda location: ScriptedRunner(failing), lease_store=store)
    daemons.append(a)
    a.start()
    assert wait_until(lambda: json.loads(get(a, "/status")[1])["reconcile_failing"] is True)
    b = Daemon(settings_for(str(tmp_path / "repo"), tmp_path, identity="b", **timing),
               lambda location: ScriptedRunner(), lease_store=store)
    daemons.append(b)
    b.start()
    assert wait_until(lambda: (json.loads(get(b, "/status")[1])["lease_holder"] or {}).get("identity") == "a")
    assert get(a, "/readyz")[0] == 200 and get(b, "/readyz")[0] == 200
    assert b"gpuctl_reconcile_ok 0.0" in get(a, "/metrics")[1]
    a.stop()
    assert get(b, "/readyz")[0] == 200
