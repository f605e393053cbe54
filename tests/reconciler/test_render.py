"""Rendering: apply order from the stage table, and GPUNodePools as node patches."""

from __future__ import annotations

from pathlib import Path

from reconciler.render import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    MIG_CONFIG_LABEL,
    NODE_POOL_PATCH,
    cluster_objects,
    render,
)
from reconciler.render.order import STAGE_NAMES, stage_of
from reconciler.source import load_directory
from reconciler.testing import desired_state
from schemas.refs import ObjectRef
from tests.reconciler.rollout_fixtures import pool

EXAMPLE = Path(__file__).resolve().parents[2] / "desired_state"


def test_stage_table_orders_definitions_before_workloads() -> None:
    """CRDs < Namespaces < RBAC < classes < quotas < node pools < workloads; unknown kinds last."""

    def stage(group: str, kind: str) -> str:
        return STAGE_NAMES[stage_of(ObjectRef(group, kind, "", "x"))[0]]

    assert stage("apiextensions.k8s.io", "CustomResourceDefinition") == "crds"
    assert stage("", "Namespace") == "namespaces"
    assert stage("rbac.authorization.k8s.io", "RoleBinding") == "rbac"
    assert stage("scheduling.k8s.io", "PriorityClass") == "classes"
    assert stage("kueue.x-k8s.io", "ClusterQueue") == "quotas"
    assert stage("ray.io", "RayCluster") == "workloads"
    order = [stage("", "Namespace"), stage("kueue.x-k8s.io", "LocalQueue"), stage("apps", "Deployment")]
    assert order == sorted(order, key=STAGE_NAMES.index)


def test_example_renders_pools_as_node_patches() -> None:
    """Each pool becomes a NodePoolPatch with the GPU Operator input labels and what nodes advertise."""
    state = load_directory(EXAMPLE).state
    assert state is not None
    objects = render(state)
    patches = {o.obj["metadata"]["name"]: o.obj["spec"] for o in objects if o.obj["kind"] == "NodePoolPatch"}
    h100 = patches["h100-inference"]
    assert h100["labels"][MIG_CONFIG_LABEL] == "all-balanced"
    assert h100["labels"][DEVICE_PLUGIN_CONFIG_LABEL] == "mig-mixed"
    assert h100["advertisedPerNode"] == {
        "nvidia.com/mig-1g.10gb": 16,
        "nvidia.com/mig-2g.20gb": 8,
        "nvidia.com/mig-3g.40gb": 8,
    }
    t4 = patches["t4-notebooks"]
    assert MIG_CONFIG_LABEL not in t4["labels"]
    assert t4["advertisedPerNode"] == {"nvidia.com/gpu.shared": 16}
    assert t4["rollout"]["maxUnavailableNodes"] == 2
    operator_stage = [o.ref.name for o in objects if o.stage == "gpu-operator"]
    assert {"custom-mig-parted-config", "device-plugin-config", "cluster-policy"} == set(operator_stage)
    stages = [STAGE_NAMES.index(o.stage) for o in objects]
    assert stages == sorted(stages)


def test_loading_records_the_gpu_operator_configmaps() -> None:
    """Validation finds the MIG manager's and device plugin's ConfigMaps once; render reads that."""
    state = load_directory(EXAMPLE).state
    assert state is not None
    names = {ref.name for ref in state.gpu_operator_configs}
    assert names == {"custom-mig-parted-config", "device-plugin-config"}
    assert all(ref.kind == "ConfigMap" for ref in state.gpu_operator_configs)


def test_cluster_objects_leave_out_node_pool_patches_and_nodes() -> None:
    """What is sent to the API server: every rendered object but gpuctl's own kinds and Nodes."""
    state = desired_state(
        [
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}},
        ],
        pools=[pool("p")],
    )
    rendered = render(state)
    assert {o.ref.kind for o in rendered} == {"Node", "ConfigMap", NODE_POOL_PATCH}
    assert [o.ref.kind for o in cluster_objects(rendered)] == ["ConfigMap"]
