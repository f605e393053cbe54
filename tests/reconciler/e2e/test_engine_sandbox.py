"""The reconcile engine end to end against the sandbox API server only: what needs the
sandbox's fault injection (a failing MIG manager, API errors), its in-process GPU pod
launches, or its exact server-side write counter. First apply, zero-write second pass,
drift, the MIG rollout under maxUnavailable with a PDB and prune guards run on both
backends in `test_engine_backends.py`."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes import config

from reconciler.rollout.progress import FAILURE, PHASE
from reconciler.rollout.targets import MIG_CONFIG
from schemas.results import Action, ReconcileOutcome
from tests.reconciler.e2e.engine_kit import example_state, pool_nodes, run, running, with_pool

pytestmark = pytest.mark.slow

TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


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
        changed = with_pool(state, "h100-inference", mig="inference-small", max_unavailable=4)
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
        changed = with_pool(state, "h100-inference", mig="inference-small")
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


def test_health_wait_times_out_and_names_the_unhealthy_objects() -> None:
    """No KubeRay operator runs in the sandbox: --wait ends at its timeout naming the RayCluster."""
    state = example_state()
    with running(state) as (sb, client):
        result = run(state, sb, client, health_timeout=60.0)
        assert result.health is not None and result.health.timed_out
        assert result.outcome is ReconcileOutcome.FAILED
        assert "RayCluster/team-llm/llm-serving: progressing" in (result.error or "")
        statuses = {str(ref): status.code.name for ref, status in result.health.statuses.items()}
        assert statuses["Namespace/team-llm"] == "HEALTHY"


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.org"},
    "spec": {
        "group": "example.org",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}
WIDGET = {
    "apiVersion": "example.org/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "shop"},
    "spec": {"size": 3},
}


def test_crd_and_its_custom_resource_apply_in_one_pass() -> None:
    """The CRD is applied and waited for until served; the Widget of the same revision follows."""
    from reconciler.testing import desired_state

    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    state = desired_state([WIDGET, namespace, WIDGET_CRD])
    with running(example_state()) as (sb, client):
        preview = run(state, sb, client, dry_run=True)
        assert {str(e.ref): e.action for e in preview.changes.changed()}["Widget/shop/w"] is Action.CREATED
        result = run(state, sb, client)
        assert result.outcome is ReconcileOutcome.SUCCEEDED, result.error
        order = [str(e.ref) for e in result.changes.changed()]
        assert order.index("CustomResourceDefinition/widgets.example.org") < order.index("Widget/shop/w")
        widget = client.get("example.org/v1", "Widget", "w", "shop")
        assert widget is not None and widget["spec"] == {"size": 3}
        assert run(state, sb, client).outcome is ReconcileOutcome.NOOP


def test_diff_ignore_rule_hides_a_field_changed_in_the_cluster() -> None:
    """A `diffIgnore` JSON pointer makes a live edit of that field invisible to diff and apply."""
    from schemas.kinds import DiffIgnoreRule

    state = example_state()
    with running(state) as (sb, client):
        run(state, sb, client)
        core = k8s.CoreV1Api(config.new_client_from_config(str(sb.kubeconfig_path)))
        core.patch_namespaced_resource_quota("gpu-cap", "team-research", {"spec": {"hard": {"pods": "10"}}})
        assert run(state, sb, client, dry_run=True).changed
        rule = DiffIgnoreRule.model_validate({"kind": "ResourceQuota", "jsonPointers": ["/spec/hard/pods"]})
        ignoring = example_state()
        ignoring.settings = ignoring.settings.model_copy(update={"diff_ignore": [rule]})
        before = sb.write_count
        assert not run(ignoring, sb, client, dry_run=True).changed
        assert run(ignoring, sb, client).outcome is ReconcileOutcome.NOOP
        assert sb.write_count == before


def test_diff_ignore_by_field_manager() -> None:
    """Fields another manager took over (a hand edit by `finance-bot`) are ignored by a managers rule."""
    from schemas.kinds import DiffIgnoreRule

    state = example_state()
    with running(state) as (sb, client):
        run(state, sb, client)
        core = k8s.CoreV1Api(config.new_client_from_config(str(sb.kubeconfig_path)))
        core.patch_namespaced_resource_quota(
            "gpu-cap", "team-research", {"spec": {"hard": {"pods": "10"}}}, field_manager="finance-bot"
        )
        assert run(state, sb, client, dry_run=True).changed
        rule = DiffIgnoreRule.model_validate({"kind": "ResourceQuota", "managers": ["finance-bot"]})
        ignoring = example_state()
        ignoring.settings = ignoring.settings.model_copy(update={"diff_ignore": [rule]})
        before = sb.write_count
        assert not run(ignoring, sb, client, dry_run=True).changed
        assert run(ignoring, sb, client).outcome is ReconcileOutcome.NOOP
        assert sb.write_count == before


def test_pdb_blocking_eviction_fails_the_node_after_drain_timeout() -> None:
    """A PodDisruptionBudget that never allows the eviction is respected until drainTimeout."""
    state = example_state()
    with running(state) as (sb, client):
        run(state, sb, client)
        selector = {"gpuctl.dev/pool": "h100-inference"}
        sb.launch_gpu_pods(
            "critical", 1, namespace="team-llm", resource="nvidia.com/mig-1g.10gb",
            node_selector=selector, tolerations=TOLERATE_GPU, labels={"app": "critical"},
        )  # fmt: skip
        policy = k8s.PolicyV1Api(config.new_client_from_config(str(sb.kubeconfig_path)))
        pdb = {
            "metadata": {"name": "critical"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "critical"}}},
        }
        policy.create_namespaced_pod_disruption_budget("team-llm", pdb)
        pods = client.list_objects("v1", "Pod", namespace="team-llm")
        busy = next(p["spec"]["nodeName"] for p in pods if p["metadata"]["name"] == "critical-0")
        changed = with_pool(
            state, "h100-inference", mig="inference-small", max_unavailable=4, drain_timeout=120.0
        )
        result = run(changed, sb, client)
        assert result.outcome is ReconcileOutcome.FAILED
        [rollout] = result.rollouts
        assert list(rollout.failed) == [busy] and "drain timed out" in rollout.failed[busy]
        assert sorted(rollout.rolled) == sorted(
            f"h100-inference-{i}" for i in range(4) if f"h100-inference-{i}" != busy
        )
        assert client.get("v1", "Pod", "critical-0", "team-llm") is not None
        assert not [e for e in result.changes.entries if e.action is Action.EVICTED]
