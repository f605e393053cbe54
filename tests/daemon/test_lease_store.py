"""KubernetesLeaseStore on the sandbox's real coordination.k8s.io Lease API: missing Lease,
create races, optimistic concurrency on update, and two electors on it."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import sandbox
from reconciler.cluster import ConnectionSpec
from reconciler.cluster.connection import api_client_for
from reconciler.cluster.leases import KubernetesLeaseStore
from reconciler.daemon.leader import ElectionTiming, LeaderElector
from reconciler.leases import LeaseConflict, LeaseRecord, LeaseUnavailable


@pytest.fixture
def api():
    with sandbox.start() as cluster:
        cluster.api.ensure_namespaces(["gpuctl-system"])
        client = api_client_for(ConnectionSpec(kubeconfig=str(cluster.kubeconfig_path)))
        yield client
        client.close()


def test_create_get_update_and_conflicts(api):
    """A missing Lease reads as None; a second create and a stale update are conflicts."""
    store = KubernetesLeaseStore(api, "gpuctl-system", "gpuctl-leader")
    assert store.get() is None
    now = datetime.now(UTC).replace(microsecond=0)
    created = store.create(LeaseRecord("a", 15, now, now, 0))
    assert created.holder == "a" and created.version
    with pytest.raises(LeaseConflict):
        store.create(LeaseRecord("b", 15, now, now, 0))
    renewed = store.update(replace(created, renew_time=now + timedelta(seconds=2)))
    assert renewed.version != created.version
    with pytest.raises(LeaseConflict):
        store.update(replace(created, holder="b"))
    assert store.get().holder == "a"


def test_missing_namespace_is_unavailable_not_a_crash(api):
    """Creating a Lease in a namespace that does not exist is a retryable LeaseUnavailable."""
    store = KubernetesLeaseStore(api, "no-such-namespace", "gpuctl-leader")
    now = datetime.now(UTC)
    with pytest.raises(LeaseUnavailable):
        store.create(LeaseRecord("a", 15, now, now, 0))


def test_two_electors_on_the_real_lease(api):
    """On the API server's Lease, one elector wins, the other follows, release hands over."""
    timing = ElectionTiming(lease_duration_s=15, renew_deadline_s=10, retry_period_s=2)
    a = LeaderElector(KubernetesLeaseStore(api, "gpuctl-system", "l"), "a", timing)
    b = LeaderElector(KubernetesLeaseStore(api, "gpuctl-system", "l"), "b", timing)
    assert a.try_acquire_or_renew() and not b.try_acquire_or_renew()
    assert a.try_acquire_or_renew()
    a.release()
    assert b.try_acquire_or_renew() and b.is_leader() and not a.is_leader()
    assert not a.try_acquire_or_renew()
