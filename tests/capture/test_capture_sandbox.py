"""Workload capture against the sandbox: GPU pods of each owner kind are grouped into jobs and
timed on the cluster's clock; a restarted capture loses nothing; the daemon exports the metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

import sandbox
from reconciler.capture import CaptureStore, RetentionPolicy
from reconciler.capture.metrics import CaptureMetrics
from reconciler.capture.pods import Outcome
from reconciler.capture.session import CaptureSession
from reconciler.cluster import ConnectionSpec
from reconciler.cluster.connection import api_client_for
from reconciler.source import load_directory
from sandbox.clock import parse_timestamp
from schemas.desired import DesiredState
from tests.capture.sandbox_pods import (
    EXAMPLE,
    INFERENCE,
    create_pods,
    create_workload,
    delete_pod,
    install_workload_crd,
    owner,
    recorded_span,
    wait_until,
)

pytestmark = pytest.mark.slow
SPEED = 100.0  # sandbox seconds per real second


@pytest.fixture(scope="module")
def state() -> DesiredState:
    loaded = load_directory(EXAMPLE)
    assert loaded.state is not None
    return loaded.state


@pytest.fixture
def cluster(state: DesiredState) -> Iterator[sandbox.Sandbox]:
    with sandbox.start(sandbox.SandboxSpec.from_state(state), speed=SPEED, tls=False) as running:
        yield running


def start_session(cluster: sandbox.Sandbox, state: DesiredState, db: Path,
                  registry: CollectorRegistry | None = None, *, kueue: bool = False) -> CaptureSession:
    api = api_client_for(ConnectionSpec(sandbox=str(cluster.kubeconfig_path)))
    session = CaptureSession(api, db, RetentionPolicy(), clock=cluster.clock.now)
    session.recorder.set_pools(state.pools)
    session.attach_metrics(CaptureMetrics(registry or CollectorRegistry()))
    session.start()
    assert session.wait_synced(10, kueue=kueue)
    return session


def ended(store: CaptureStore, jobs: int) -> bool:
    found = store.jobs()
    return len(found) == jobs and all(j.outcome in Outcome.ENDED for j in found)


def test_jobs_of_each_owner_kind_are_grouped_and_timed(cluster: sandbox.Sandbox, state: DesiredState,
                                                       tmp_path: Path) -> None:
    """Job, PyTorchJob, RayCluster worker groups and StatefulSet pods become one job each, timed."""
    registry = CollectorRegistry()
    session = start_session(cluster, state, tmp_path / "capture.db", registry)
    try:
        create_pods(cluster, "train", 2, namespace="team-a", owner_ref=owner("Job", "train", "batch/v1"),
                    per_pod=2, runtime_s=120, labels={"kueue.x-k8s.io/queue-name": "training"})
        create_pods(cluster, "vision", 3, namespace="team-b",
                    owner_ref=owner("PyTorchJob", "vision", "kubeflow.org/v1"), runtime_s=60)
        ray = owner("RayCluster", "llm", "ray.io/v1")
        create_pods(cluster, "llm-big", 2, namespace="team-b", owner_ref=ray, labels={"ray.io/group": "big"},
                    runtime_s=90)
        create_pods(cluster, "llm-small", 1, namespace="team-b", owner_ref=ray,
                    labels={"ray.io/group": "small"}, resource="nvidia.com/mig-1g.10gb", pool=INFERENCE,
                    runtime_s=30)
        serve = create_pods(cluster, "serve", 2, namespace="team-c",
                            owner_ref=owner("StatefulSet", "serve", "apps/v1"))
        assert wait_until(lambda: len([j for j in session.store.jobs() if j.started]) == 5)
        for name in serve:
            delete_pod(cluster, "team-c", name)
        assert wait_until(lambda: ended(session.store, 5), 30)
        jobs = {(j.kind, j.name): j for j in session.store.jobs()}
    finally:
        session.stop()

    assert set(jobs) == {("Job", "train"), ("PyTorchJob", "vision"), ("RayCluster", "llm/big"),
                         ("RayCluster", "llm/small"), ("StatefulSet", "serve")}
    train = jobs["Job", "train"]
    assert (train.pods, train.per_pod, train.queue, train.pool) == (2, 2, "training", "a100-training")
    assert jobs["PyTorchJob", "vision"].pods == 3
    assert (jobs["RayCluster", "llm/big"].pods, jobs["RayCluster", "llm/small"].pods) == (2, 1)
    small = jobs["RayCluster", "llm/small"]
    assert (small.resource, small.pool) == ("nvidia.com/mig-1g.10gb", "h100-inference")
    timed = (("team-a", "train", train, 120), ("team-b", "vision", jobs["PyTorchJob", "vision"], 60),
             ("team-b", "llm-big", jobs["RayCluster", "llm/big"], 90))
    for namespace, prefix, job, runtime in timed:
        assert job.outcome == Outcome.SUCCEEDED
        created, started, finished = recorded_span(cluster, namespace, prefix)
        assert job.duration_s == finished - started >= runtime, (job.name, job.duration_s)
        assert job.wait_s == started - created >= 0, (job.name, job.wait_s)
    assert jobs["StatefulSet", "serve"].outcome == Outcome.DELETED
    exposition = generate_latest(registry).decode()
    assert 'gpuctl_pod_queue_wait_seconds_count{queue="training",team="team-a"} 2.0' in exposition
    assert 'gpuctl_captured_pods_ended_total{outcome="Succeeded",team="team-b"} 6.0' in exposition


def test_restart_loses_no_job(cluster: sandbox.Sandbox, state: DesiredState, tmp_path: Path) -> None:
    """Pods that ran or vanished while the capture was down are recorded when it comes back."""
    db = tmp_path / "capture.db"
    first = start_session(cluster, state, db)
    try:
        create_pods(cluster, "before", 1, namespace="team-a", owner_ref=owner("Job", "before", "batch/v1"),
                    runtime_s=30)
        create_pods(cluster, "doomed", 1, namespace="team-a", owner_ref=owner("Job", "doomed", "batch/v1"))
        assert wait_until(lambda: len([j for j in first.store.jobs() if j.started]) == 2)
    finally:
        first.stop()
    create_pods(cluster, "during", 2, namespace="team-b", owner_ref=owner("Job", "during", "batch/v1"),
                runtime_s=20)
    delete_pod(cluster, "team-a", "doomed-0")
    assert wait_until(lambda: _all_pods_done(cluster), 60)

    second = start_session(cluster, state, db)
    try:
        assert wait_until(lambda: ended(second.store, 3), 60)
        jobs = {j.name: j for j in second.store.jobs()}
    finally:
        second.stop()
    assert {name: j.outcome for name, j in jobs.items()} == {
        "before": Outcome.SUCCEEDED, "doomed": Outcome.DELETED, "during": Outcome.SUCCEEDED,
    }
    assert jobs["during"].pods == 2
    _, started, finished = recorded_span(cluster, "team-b", "during")
    assert jobs["during"].duration_s == finished - started >= 20


def _all_pods_done(cluster: sandbox.Sandbox) -> bool:
    pods, _ = cluster.store.list_objects(("", "pods"))
    return all((p.get("status") or {}).get("phase") == "Succeeded" for p in pods)


def test_kueue_workload_dates_submission_and_names_the_queue(cluster: sandbox.Sandbox, state: DesiredState,
                                                             tmp_path: Path) -> None:
    """With Kueue, the job was submitted when its Workload was created, in the Workload's queue."""
    install_workload_crd(cluster)
    session = start_session(cluster, state, tmp_path / "capture.db", kueue=True)
    try:
        job = owner("Job", "queued", "batch/v1")
        create_workload(cluster, "team-a", job, queue="team-a-training", priority=500)
        submitted = _created(cluster, "team-a", "job-queued")
        # A sandbox minute waiting for admission; then Kueue unsuspends the job.
        assert wait_until(lambda: cluster.clock.now() - submitted >= 60, 60)
        create_pods(cluster, "queued", 2, namespace="team-a", owner_ref=job, runtime_s=30)
        assert wait_until(lambda: ended(session.store, 1), 60)
        (captured,) = session.store.jobs()
    finally:
        session.stop()
    assert (captured.queue, captured.priority) == ("team-a-training", 500)
    assert captured.submitted == submitted
    assert captured.wait_s is not None and captured.wait_s >= 58


def _created(cluster: sandbox.Sandbox, namespace: str, workload: str) -> float:
    found = cluster.store.get(("kueue.x-k8s.io", "workloads"), (namespace, workload))
    assert found is not None
    return parse_timestamp(found["metadata"]["creationTimestamp"])


def test_retention_bounds_the_store_on_the_cluster_clock(cluster: sandbox.Sandbox, state: DesiredState,
                                                         tmp_path: Path) -> None:
    """Jobs that ended longer ago than the retention age leave the store while new ones arrive."""
    api = api_client_for(ConnectionSpec(sandbox=str(cluster.kubeconfig_path)))
    session = CaptureSession(api, tmp_path / "capture.db", RetentionPolicy(max_age_s=300, max_pods=1000),
                             clock=cluster.clock.now, prune_every_s=10)
    session.recorder.set_pools(state.pools)
    session.start()
    try:
        assert session.wait_synced(60)
        create_pods(cluster, "early", 2, namespace="team-a", owner_ref=owner("Job", "early", "batch/v1"),
                    runtime_s=20)
        assert wait_until(lambda: ended(session.store, 1), 60)
        early_end = cluster.clock.now()
        # The early job's end is now older than the retention age (on the cluster's clock).
        assert wait_until(lambda: cluster.clock.now() - early_end >= 400, 60)
        create_pods(cluster, "late", 1, namespace="team-a", owner_ref=owner("Job", "late", "batch/v1"),
                    runtime_s=20)
        assert wait_until(lambda: [j.name for j in session.store.jobs()] == ["late"], 60)
        assert session.store.counts() == (1, 1)
    finally:
        session.stop()
