"""The reconcile engine end to end on both backends (the sandbox, and a fresh real control
plane with heartbeating GPU nodes): first apply of the example repository, a zero-write
second pass, drift reverted, a MIG rollout under maxUnavailable with a PodDisruptionBudget,
and prune guards. Writes are counted at gpuctl's client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes import config

from reconciler.rollout.targets import MIG_CONFIG
from reconciler.testing import RecordingAuditSink
from schemas.desired import DesiredState
from schemas.results import Action, ReconcileOutcome
from tests.conformance.helpers import wait_for
from tests.kube.fixtures import FreshControlPlane
from tests.reconciler.e2e.backends import E2ECluster, e2e_cluster
from tests.reconciler.e2e.engine_kit import NodeWatcher, example_state, pool_nodes, with_pool

pytestmark = pytest.mark.slow

TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def _cluster(backend: str, state: DesiredState, fresh: FreshControlPlane) -> Iterator[E2ECluster]:
    plane = fresh() if backend == "real" else None
    with e2e_cluster(backend, state, plane) as cluster:
        yield cluster


@pytest.fixture
def example(backend: str, fresh_control_plane: FreshControlPlane) -> Iterator[E2ECluster]:
    """The example repository's pools on a new cluster of `backend`."""
    yield from _cluster(backend, example_state(), fresh_control_plane)


def _applied(request: pytest.FixtureRequest, example: E2ECluster) -> E2ECluster:
    """`example` after a successful first apply of the example repository."""
    first = example.run(example_state())
    assert first.outcome is ReconcileOutcome.SUCCEEDED, first.error
    return example


def test_initial_apply_then_zero_writes(request: pytest.FixtureRequest, example: E2ECluster) -> None:
    """First pass creates the example repository (one audit entry per write); the second writes nothing."""
    state = example_state()
    sink = RecordingAuditSink()
    before = example.writes()
    first = example.run(state, sink)
    assert first.outcome is ReconcileOutcome.SUCCEEDED, first.error
    created = {str(e.ref) for e in first.changes.changed() if e.action is Action.CREATED}
    assert {"RayCluster/team-llm/llm-serving", "ClusterQueue/training", "Namespace/team-vision"} <= created
    # The audit log also holds the write of the in-cluster record of the pass, last.
    recorded = [str(e.ref) for e in sink.all_changes()]
    inventory = "ConfigMap/gpuctl-system/gpuctl-inventory"
    assert recorded == [str(e.ref) for e in first.changes.changed()] + [inventory]
    assert example.writes() - before >= len(sink.all_changes())
    before = example.writes()
    second = example.run(state, sink)
    assert second.outcome is ReconcileOutcome.NOOP, second.error
    assert example.writes() == before
    live = example.client.get("v1", "ConfigMap", "custom-mig-parted-config", "gpu-operator")
    assert live is not None
    assert ("gpuctl", "Apply") in {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}


def test_drift_is_reverted_and_other_managers_fields_kept(
    request: pytest.FixtureRequest, example: E2ECluster
) -> None:
    """A hand edit of a field gpuctl owns is reverted; a label added by someone else stays."""
    example, state = _applied(request, example), example_state()
    api = config.new_client_from_config(str(example.kubeconfig))
    k8s.CoreV1Api(api).patch_namespaced_resource_quota(
        "gpu-cap",
        "team-research",
        {
            "metadata": {"labels": {"owner": "finance"}},
            "spec": {"hard": {"requests.nvidia.com/gpu.shared": "999"}},
        },
    )
    api.close()
    result = example.run(state)
    [entry] = result.changes.changed()
    assert (str(entry.ref), entry.action) == ("ResourceQuota/team-research/gpu-cap", Action.CONFIGURED)
    quota = example.client.get("v1", "ResourceQuota", "gpu-cap", "team-research")
    assert quota is not None and quota["spec"]["hard"]["requests.nvidia.com/gpu.shared"] == "16"
    assert quota["metadata"]["labels"]["owner"] == "finance"


def _serving_deployment(apps: k8s.AppsV1Api, policy: k8s.PolicyV1Api) -> None:
    """Two GPU pods of a Deployment on the h100 pool, at most one disrupted at a time (PDB)."""
    labels = {"app": "serve"}
    container = {"name": "main", "image": "vllm", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "1"}}}
    pod_spec = {
        "containers": [container],
        "nodeSelector": {"gpuctl.dev/pool": "h100-inference"},
        "tolerations": TOLERATE_GPU,
    }
    apps.create_namespaced_deployment(
        "team-llm",
        {
            "metadata": {"name": "serve"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            },
        },
    )
    policy.create_namespaced_pod_disruption_budget(
        "team-llm",
        {"metadata": {"name": "serve"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}},
    )


def test_mig_rollout_respects_max_unavailable_and_the_pdb(
    request: pytest.FixtureRequest, example: E2ECluster
) -> None:
    """A MIG change across the pool keeps at most maxUnavailable nodes cordoned (watched on the
    API), evicts the Deployment's GPU pods within its PDB, and ends with every node changed."""
    example, state = _applied(request, example), example_state()
    api = config.new_client_from_config(str(example.kubeconfig))
    core = k8s.CoreV1Api(api)
    _serving_deployment(k8s.AppsV1Api(api), k8s.PolicyV1Api(api))
    wait_for(
        lambda: (
            sum(
                p.status.phase == "Running"
                for p in core.list_namespaced_pod("team-llm", label_selector="app=serve").items
            )
            == 2
        ),
        what="two serving pods Running",
    )
    changed = with_pool(state, "h100-inference", mig="inference-small", max_unavailable=2)
    with NodeWatcher(example.kubeconfig, "h100-inference") as watcher:
        result = example.run(changed)
    api.close()
    assert result.outcome is ReconcileOutcome.SUCCEEDED, result.error
    assert 1 <= watcher.max_cordoned <= 2
    for node in pool_nodes(example.client, "h100-inference"):
        labels = node["metadata"]["labels"]
        assert labels[MIG_CONFIG] == "inference-small"
        assert labels["nvidia.com/mig.config.state"] == "success"
        assert not node["spec"].get("unschedulable")
    assert example.run(changed).outcome is ReconcileOutcome.NOOP


def test_prune_removes_dropped_objects_and_keeps_foreign_namespaces(
    request: pytest.FixtureRequest, example: E2ECluster
) -> None:
    """Dropping a LocalQueue prunes it; a namespace holding a foreign object is kept."""
    example, state = _applied(request, example), example_state()
    api = config.new_client_from_config(str(example.kubeconfig))
    k8s.CoreV1Api(api).create_namespaced_config_map(
        "team-research", {"metadata": {"name": "notes"}, "data": {"a": "b"}}
    )
    api.close()
    dropped = {("LocalQueue", "notebooks"), ("Namespace", "team-research"), ("ResourceQuota", "gpu-cap"),
               ("RoleBinding", "team-edit")}  # fmt: skip
    pruned_state = example_state()
    pruned_state.manifests = [
        m for m in state.manifests
        if (m.ref.kind, m.ref.name) not in dropped or (m.ref.namespace not in ("", "team-research"))
    ]  # fmt: skip
    result = example.run(pruned_state, prune=True)
    assert result.outcome is ReconcileOutcome.SUCCEEDED, result.error
    assert example.client.get("kueue.x-k8s.io/v1beta2", "LocalQueue", "notebooks", "team-research") is None
    assert example.client.get("v1", "Namespace", "team-research") is not None
    [kept] = [e for e in result.changes.entries if str(e.ref) == "Namespace/team-research"]
    assert kept.action is Action.SKIPPED and "ConfigMap/team-research/notes" in kept.message
