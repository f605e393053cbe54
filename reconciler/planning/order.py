"""The apply order as data: which stage each object belongs to, and the order of kinds
inside a stage. Pruning walks the same table backwards.

Stages follow Flux's staged apply (CRDs and Namespaces first, then class kinds) extended
with the GPU-specific steps: the GPU Operator's configuration before quotas, quotas and
Kueue before node pool changes, workloads last.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class Stage(IntEnum):
    CRDS = 0
    NAMESPACES = 1
    RBAC = 2
    CLASSES = 3
    GPU_OPERATOR = 4
    QUOTAS = 5
    NODE_POOLS = 6
    WORKLOADS = 7

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


_RBAC_KINDS = frozenset({"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_QUOTA_KINDS = frozenset({"ResourceQuota", "LimitRange"})
_KUEUE_GROUP = "kueue.x-k8s.io"
_NVIDIA_GROUP = "nvidia.com"

# Inside a stage: what others refer to goes first (Helm/Argo CD kind order; Kueue flavors
# before the queues that name them).
_WORKLOAD_KIND_ORDER = [
    "ResourceQuota",
    "LimitRange",
    "ResourceFlavor",
    "WorkloadPriorityClass",
    "ClusterQueue",
    "LocalQueue",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
]
_WORKLOAD_RANK = {kind: i for i, kind in enumerate(_WORKLOAD_KIND_ORDER)}


def _group(obj: dict[str, Any]) -> str:
    api_version = str(obj.get("apiVersion") or "")
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def is_gpu_operator_config(obj: dict[str, Any]) -> bool:
    """A ConfigMap holding a mig-parted config or device-plugin configs."""
    if obj.get("kind") != "ConfigMap":
        return False
    for value in (obj.get("data") or {}).values():
        text = str(value)
        if "mig-configs:" in text or ("version: v1" in text and ("sharing:" in text or "flags:" in text)):
            return True
    return False


def stage_of(obj: dict[str, Any]) -> Stage:
    """The stage an object is applied in."""
    kind = str(obj.get("kind") or "")
    group = _group(obj)
    if kind == "CustomResourceDefinition":
        return Stage.CRDS
    if kind == "Namespace" and not group:
        return Stage.NAMESPACES
    if kind in _RBAC_KINDS:
        return Stage.RBAC
    if group == _KUEUE_GROUP or kind in _QUOTA_KINDS:
        return Stage.QUOTAS
    if kind.endswith("Class"):
        return Stage.CLASSES
    if group == _NVIDIA_GROUP or is_gpu_operator_config(obj):
        return Stage.GPU_OPERATOR
    if kind == "Node" and not group:
        return Stage.NODE_POOLS
    return Stage.WORKLOADS


def sort_key(obj: dict[str, Any]) -> tuple[int, int, str, str, str]:
    """Total apply order: stage, kind rank inside the stage, kind, namespace, name."""
    kind = str(obj.get("kind") or "")
    meta = obj.get("metadata") or {}
    rank = _WORKLOAD_RANK.get(kind, len(_WORKLOAD_RANK))
    return (int(stage_of(obj)), rank, kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
