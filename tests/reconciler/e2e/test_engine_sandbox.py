"""The reconcile engine end to end against the sandbox API server: initial apply of the
example repository, zero-write idempotence counted at the server, drift, GPU rollouts
(maxUnavailable watched on the API, a failing MIG manager, drains), prune guards and retries."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes import config

from reconciler.rollout.progress import FAILURE, PHASE
from reconciler.rollout.targets import MIG_CONFIG
from reconciler.testing import RecordingAuditSink
from schemas.results import Action, ReconcileOutcome
from tests.reconciler.e2e.engine_kit import NodeWatcher, example_state, pool_nodes, run, running, with_pool

pytestmark = pytest.mark.slow

TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_initial_apply_then_zero_writes_and_audit_in_write_order() -> None:
    """First pass creates the example repository; the second makes zero write requests."""
    state = example_state()
    with running(state) as (sb, client):
        sink = RecordingAuditSink()
        before = sb.write_count
        first = run(state, sb, client, sink)
        assert first.outcome is ReconcileOutcome.SUCCEEDED, first.error
        created = {str(e.ref) for e in first.changes.changed() if e.action is Action.CREATED}
        assert {
            "RayCluster/team-llm/llm-serving",
            "ClusterQueue/training",
            "Namespace/team-vision",
        } <= created
        assert sb.write_count - before == len(sink.all_changes())
        assert [str(e.ref) for e in sink.all_changes()] == [str(e.ref) for e in first.changes.changed()]
        before = sb.write_count
        second = run(state, sb, client, sink)
        assert second.outcome is ReconcileOutcome.NOOP
        assert sb.write_count == before


def test_drift_is_reverted_and_other_managers_fields_kept() -> None:
    """A hand edit of a field gpuctl owns is reverted; a label added by someone else stays."""
    state = example_state()
    with running(state) as (sb, client):
        run(state, sb, client)
        core = k8s.CoreV1Api(config.new_client_from_config(str(sb.kubeconfig_path)))
        core.patch_namespaced_resource_quota(
            "gpu-cap",
            "team-research",
            {
                "metadata": {"labels": {"owner": "finance"}},
                "spec": {"hard": {"requests.nvidia.com/gpu.shared": "999"}},
            },
        )
        result = run(state, sb, client)
        [entry] = result.changes.changed()
        assert (str(entry.ref), entry.action) == ("ResourceQuota/team-research/gpu-cap", Action.CONFIGURED)
        quota = client.get("v1", "ResourceQuota", "gpu-cap", "team-research")
        assert quota is not None and quota["spec"]["hard"]["requests.nvidia.com/gpu.shared"] == "16"
        assert quota["metadata"]["labels"]["owner"] == "finance"


def test_mig_rollout_respects_max_unavailable_on_the_api() -> None:
    """A MIG change across the pool never has more than maxUnavailable nodes cordoned (watched)."""
    state = example_state()
    with running(state) as (sb, client):
        run(state, sb, client)
        changed = with_pool(state, "h100-inference", mig="all-1g.10gb", max_unavailable=2)
        with NodeWatcher(sb, "h100-inference") as watcher:
            result = run(changed, sb, client)
        assert result.outcome is ReconcileOutcome.SUCCEEDED, result.error
        assert watcher.max_cordoned == 2
        for node in pool_nodes(client, "h100-inference"):
            labels = node["metadata"]["labels"]
            assert labels[MIG_CONFIG] == "all-1g.10gb" and labels["nvidia.com/mig.config.state"] == "success"
            assert not node["spec"].get("unschedulable")
            assert "nvidia.com/mig-1g.10gb" in node["status"]["allocatable"]
        assert run(changed, sb, client).outcome is ReconcileOutcome.NOOP


def test_gpu_pods_are_evicted_before_the_mig_change() -> None:
    """Running GPU pods on a node are evicted (recorded) and the MIG change then succeeds."""
    state = example_state()
    with running(state) as (sb, client):
        run(state, sb, client)
        selector = {"gpuctl.dev/pool": "h100-inference"}
        sb.launch_gpu_pods(
            "serve", 3, namespace="team-llm", resource="nvidia.com/mig-1g.10gb",
            node_selector=selector, tolerations=TOLERATE_GPU,
        )  # fmt: skip
        changed = with_pool(state, "h100-inference", mig="all-1g.10gb", max_unavailable=4)
        result = run(changed, sb, client)
        assert result.outcome is ReconcileOutcome.SUCCEEDED, result.error
        evicted = [e for e in result.changes.entries if e.action is Action.EVICTED]
        assert len(evicted) == 3
        assert {e.ref.name for e in evicted} == {"serve-0", "serve-1", "serve-2"}


def test_failing_mig_manager_halts_the_pool() -> None:
    """`failed` from the MIG manager halts the pool, keeps that node cordoned with a reason."""
    state = example_state()
    with running(state) as (sb, client):
        run(state, sb, client)
        sb.faults.mig_fail_nodes = {"h100-inference-0"}
        changed = with_pool(state, "h100-inference", mig="all-1g.10gb")
        result = run(changed, sb, client)
        assert result.outcome is ReconcileOutcome.FAILED
        assert "h100-inference-0" in (result.error or "")
        [rollout] = result.rollouts
        assert rollout.halted and list(rollout.failed) == ["h100-inference-0"] and rollout.rolled == []
        nodes = {n["metadata"]["name"]: n for n in pool_nodes(client, "h100-inference")}
        failed = nodes["h100-inference-0"]
        assert failed["spec"]["unschedulable"] is True
        assert failed["metadata"]["annotations"][PHASE] == "failed"
        assert "MIG manager reported failed" in failed["metadata"]["annotations"][FAILURE]
        assert all(
            nodes[f"h100-inference-{i}"]["metadata"]["labels"][MIG_CONFIG] == "all-balanced"
            for i in (1, 2, 3)
        )
        assert Action.ROLLOUT_FAILED in [e.action for e in result.changes.entries]


def test_prune_removes_dropped_objects_and_keeps_foreign_namespaces() -> None:
    """Dropping a LocalQueue prunes it; a namespace holding a foreign object is kept."""
    state = example_state()
    with running(state) as (sb, client):
        run(state, sb, client)
        core = k8s.CoreV1Api(config.new_client_from_config(str(sb.kubeconfig_path)))
        core.create_namespaced_config_map(
            "team-research", {"metadata": {"name": "notes"}, "data": {"a": "b"}}
        )
        dropped = {("LocalQueue", "notebooks"), ("Namespace", "team-research"), ("ResourceQuota", "gpu-cap"),
                   ("RoleBinding", "team-edit")}  # fmt: skip
        smaller = [
            m for m in state.manifests
            if (m.ref.kind, m.ref.name) not in dropped or (m.ref.namespace not in ("", "team-research"))
        ]  # fmt: skip
        pruned_state = example_state()
        pruned_state.manifests = smaller
        result = run(pruned_state, sb, client, prune=True)
        assert result.outcome is ReconcileOutcome.SUCCEEDED, result.error
        assert client.get("kueue.x-k8s.io/v1beta2", "LocalQueue", "notebooks", "team-research") is None
        assert client.get("v1", "Namespace", "team-research") is not None
        [kept] = [e for e in result.changes.entries if str(e.ref) == "Namespace/team-research"]
        assert kept.action is Action.SKIPPED and "ConfigMap/team-research/notes" in kept.message


def test_transient_api_errors_are_retried() -> None:
    """With a share of requests failing 500/429, a pass still converges through retries."""
    state = example_state()
    with running(state) as (sb, client):
        sb.faults.reseed(7)
        sb.faults.error_rate = 0.15
        sb.faults.throttle_rate = 0.1
        sb.faults.retry_after_seconds = 0
        result = run(state, sb, client)
        assert result.outcome is ReconcileOutcome.SUCCEEDED, result.error
        sb.faults.clear()
        assert run(state, sb, client).outcome is ReconcileOutcome.NOOP
