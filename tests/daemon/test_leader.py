"""Leader election rules on an in-memory Lease with resourceVersion semantics (the same
elector against the sandbox's real Lease API is in test_leader_sandbox.py)."""

from reconciler.daemon.leader import ElectionTiming, LeaderElector
from tests.daemon.fakes import MemoryLeaseStore

TIMING = ElectionTiming(lease_duration_s=15, renew_deadline_s=10, retry_period_s=2)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_candidate_takes_the_lease_and_the_second_follows():
    """Of two candidates on one Lease, exactly one is leader."""
    store, clock = MemoryLeaseStore(), Clock()
    a = LeaderElector(store, "a", TIMING, clock=clock)
    b = LeaderElector(store, "b", TIMING, clock=clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.is_leader() and not b.is_leader()


def test_leadership_lapses_by_itself_when_renewals_stop():
    """Without a successful renewal the leader stops claiming leadership after the renew deadline."""
    store, clock = MemoryLeaseStore(), Clock()
    a = LeaderElector(store, "a", TIMING, clock=clock)
    a.try_acquire_or_renew()
    clock.now += 9.9
    assert a.is_leader()
    clock.now += 0.2
    assert not a.is_leader()


def test_follower_takes_over_only_after_a_full_lease_duration_without_renewal():
    """A follower waits lease_duration from when it last saw the Lease change, and the old
    leader has stopped writing by then: never two writers."""
    store, clock = MemoryLeaseStore(), Clock()
    a = LeaderElector(store, "a", TIMING, clock=clock)
    b = LeaderElector(store, "b", TIMING, clock=clock)
    a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # b observes the record now
    clock.now += 14.0
    assert not b.try_acquire_or_renew()
    clock.now += 1.0
    assert not a.is_leader()
    assert b.try_acquire_or_renew()
    assert b.is_leader()
    assert store.get().transitions == 1
    # The old leader, waking up, sees the new holder and stays a follower.
    assert not a.try_acquire_or_renew()
    assert not a.is_leader()


def test_renewals_keep_the_lease():
    """A leader that renews every retry period keeps the lease for as long as it runs."""
    store, clock = MemoryLeaseStore(), Clock()
    a = LeaderElector(store, "a", TIMING, clock=clock)
    b = LeaderElector(store, "b", TIMING, clock=clock)
    for _ in range(30):
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew()
        clock.now += 2.0
    assert a.is_leader()


def test_release_hands_over_without_waiting():
    """A released Lease (empty holder) is taken by a follower on its next round."""
    changes: list[bool] = []
    store, clock = MemoryLeaseStore(), Clock()
    a = LeaderElector(store, "a", TIMING, clock=clock, on_change=changes.append)
    b = LeaderElector(store, "b", TIMING, clock=clock)
    a.try_acquire_or_renew()
    b.try_acquire_or_renew()
    a.release()
    assert not a.is_leader()
    assert store.get().holder is None
    assert b.try_acquire_or_renew()
    assert changes == [True, False]


def test_inconsistent_timing_is_rejected():
    """Leader election refuses a renew deadline not shorter than the lease duration."""
    import pytest

    with pytest.raises(ValueError, match="retry period < renew deadline < lease duration"):
        ElectionTiming(lease_duration_s=10, renew_deadline_s=10, retry_period_s=2)
