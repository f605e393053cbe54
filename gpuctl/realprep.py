"""A real cluster prepared as the sandbox comes: the operators' CRDs it preinstalls (KubeRay,
Kubeflow, Kueue with its Workloads, the GPU Operator's ClusterPolicy), the GPU Operator's
namespace, and one Node per GPU pool already at the pool's MIG layout (so that applying the
pools starts no rollout), for tests and benchmarks against a real control plane."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reconciler.cluster.client import KubeClusterClient
from reconciler.rollout.targets import MIG_CONFIG_STATE, target_for
from sandbox.api.crds import preinstalled
from schemas.kinds import GPUNodePool

GPU_OPERATOR_NAMESPACE = "gpu-operator"
# Kueue's Workload kind (kueue.x-k8s.io/v1beta1), as installing Kueue serves it.
WORKLOAD_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "workloads.kueue.x-k8s.io"},
    "spec": {
        "group": "kueue.x-k8s.io", "scope": "Namespaced",
        "names": {"plural": "workloads", "singular": "workload", "kind": "Workload",
                  "listKind": "WorkloadList"},
        "versions": [{"name": "v1beta1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object",
                                                     "x-kubernetes-preserve-unknown-fields": True}},
                      "subresources": {"status": {}}}],
    },
}


def pool_node(pool: GPUNodePool, index: int = 0) -> dict[str, Any]:
    """A Node the pool selects, already carrying the pool's disruptive labels (no rollout due)."""
    labels = {**pool.spec.node_selector.match_labels, **target_for(pool).disruptive}
    labels[MIG_CONFIG_STATE] = "success"
    metadata = {"name": f"{pool.metadata.name}-{index}", "labels": labels}
    return {"apiVersion": "v1", "kind": "Node", "metadata": metadata}


def wait_for(probe: Callable[[], object], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def prepare_cluster(admin: KubeClusterClient, pools: list[GPUNodePool], nodes_per_pool: int = 1) -> None:
    """Install the CRDs, the GPU Operator's namespace and the pools' nodes; wait until served."""
    crds = [*preinstalled(), WORKLOAD_CRD]
    for crd in crds:
        admin.apply(crd)
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GPU_OPERATOR_NAMESPACE}})
    for pool in pools:
        for index in range(nodes_per_pool):
            admin.apply(pool_node(pool, index))

    def served() -> bool:
        kinds = [(f"{c['spec']['group']}/{c['spec']['versions'][-1]['name']}", c["spec"]["names"]["kind"])
                 for c in crds]  # fmt: skip
        return all(admin.has_kind(api_version, kind) for api_version, kind in kinds)

    wait_for(served, "the CRDs to be served")
