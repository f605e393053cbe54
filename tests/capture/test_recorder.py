"""`CaptureRecorder` fed list and watch events directly: pools from node labels (also for pods
recorded before the pools were known), metrics per pod, deletions, and a relist that closes
pods which vanished while nobody watched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from reconciler.capture import CaptureStore
from reconciler.capture.metrics import CaptureMetrics
from reconciler.capture.pods import Outcome
from reconciler.capture.recorder import CaptureRecorder
from reconciler.source import load_directory
from tests.capture.sandbox_pods import EXAMPLE

NOW = 1767225600.0 + 3600  # 2026-01-01T01:00:00Z, an hour after the pods below were created


def node(name: str, pool: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"gpuctl.dev/pool": pool}}}


def gpu_pod(uid: str, phase: str, node_name: str = "n-train") -> dict[str, Any]:
    ended = {"startedAt": "2026-01-01T00:01:00Z", "finishedAt": "2026-01-01T00:11:00Z"}
    states = {"Pending": {}, "Running": {"running": {"startedAt": "2026-01-01T00:01:00Z"}},
              "Succeeded": {"terminated": ended}}
    return {
        "metadata": {"uid": uid, "name": uid, "namespace": "team-a",
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": node_name, "containers": [{"resources": {"limits": {"nvidia.com/gpu": "4"}}}]},
        "status": {"phase": phase, "containerStatuses": [{"state": states[phase]}] if states[phase] else []},
    }


def recorder(tmp_path: Path) -> tuple[CaptureRecorder, CollectorRegistry]:
    registry = CollectorRegistry()
    rec = CaptureRecorder(CaptureStore(tmp_path / "c.db"), CaptureMetrics(registry), clock=lambda: NOW)
    rec.on_list("Node", [node("n-train", "a100-training"), node("n-other", "unknown-pool")])
    return rec, registry


def test_pods_listed_before_the_pools_get_their_pool_later(tmp_path: Path) -> None:
    """The first list runs before the first pass; once the pools arrive, stored pods get theirs."""
    rec, _ = recorder(tmp_path)
    rec.on_list("Pod", [gpu_pod("a", "Succeeded")])
    assert rec.store.jobs()[0].pool == ""
    state = load_directory(EXAMPLE).state
    assert state is not None
    rec.set_pools(state.pools)
    assert rec.store.jobs()[0].pool == "a100-training"


def test_metrics_follow_a_pod_from_pending_to_its_end(tmp_path: Path) -> None:
    """A running pod holds its devices in its pool; its wait is observed once; its end counted once."""
    rec, registry = recorder(tmp_path)
    state = load_directory(EXAMPLE).state
    assert state is not None
    rec.set_pools(state.pools)
    rec.on_list("Pod", [])
    rec.on_event("Pod", "ADDED", gpu_pod("a", "Pending"))
    rec.on_event("Pod", "MODIFIED", gpu_pod("a", "Running"))
    rec.on_event("Pod", "MODIFIED", gpu_pod("a", "Running"))
    text = generate_latest(registry).decode()
    assert 'gpuctl_gpu_allocated{pool="a100-training",resource="nvidia.com/gpu"} 4.0' in text
    assert 'gpuctl_pod_queue_wait_seconds_sum{queue="team-a",team="team-a"} 60.0' in text
    assert 'gpuctl_pod_queue_wait_seconds_count{queue="team-a",team="team-a"} 1.0' in text
    rec.on_event("Pod", "MODIFIED", gpu_pod("a", "Succeeded"))
    rec.on_event("Pod", "DELETED", gpu_pod("a", "Succeeded"))
    text = generate_latest(registry).decode()
    assert "gpuctl_gpu_allocated{" not in text
    assert 'gpuctl_captured_pods_ended_total{outcome="Succeeded",team="team-a"} 1.0' in text
    assert rec.store.jobs()[0].outcome == Outcome.SUCCEEDED


def test_a_relist_closes_pods_that_vanished_unwatched(tmp_path: Path) -> None:
    """A running pod missing from the next list ended while nobody watched: it is Deleted then."""
    rec, _ = recorder(tmp_path)
    rec.on_list("Pod", [gpu_pod("a", "Running"), gpu_pod("b", "Running")])
    rec.on_list("Pod", [gpu_pod("b", "Running")])
    outcomes = {j.name: (j.outcome, j.finished) for j in rec.store.jobs()}
    assert outcomes == {"a": (Outcome.DELETED, NOW), "b": (Outcome.RUNNING, None)}
