"""The apply order, as a data table: which stage each kind belongs to.

The project's one apply-order table. Used by `reconciler.render` (the order of `gpuctl
render`) and by the reconcile engine's staged apply and pruning (`reconciler.planning`, the
pipeline; apply a stage, wait for it, go on), as Flux's kustomize-controller does:
definitions first, then what others live in or refer to, workloads last. Pruning walks the
same order backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.refs import ObjectRef


@dataclass(frozen=True)
class Stage:
    """One apply stage: its name, what belongs in it, and why it sits where it does."""

    name: str
    kinds: tuple[tuple[str, str], ...] = ()  # (API group, kind), in apply order within the stage
    description: str = ""
    kind_suffix: str | None = None  # e.g. "Class": every kind whose name ends with it
    group_any: tuple[str, ...] = field(default=())  # every kind of these groups


STAGES: tuple[Stage, ...] = (
    Stage(
        "crds",
        (("apiextensions.k8s.io", "CustomResourceDefinition"),),
        "definitions first: later stages create their custom resources",
    ),
    Stage("namespaces", (("", "Namespace"),), "everything namespaced lives in one"),
    Stage(
        "rbac",
        (
            ("", "ServiceAccount"),
            ("rbac.authorization.k8s.io", "ClusterRole"),
            ("rbac.authorization.k8s.io", "Role"),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            ("rbac.authorization.k8s.io", "RoleBinding"),
        ),
        "identities and permissions before the workloads that use them",
    ),
    Stage(
        "classes",
        (),
        "PriorityClass, RuntimeClass, StorageClass, ... referenced by pods",
        kind_suffix="Class",
    ),
    Stage(
        "gpu-operator",
        (("nvidia.com", "ClusterPolicy"), ("nvidia.com", "NVIDIADriver")),
        "GPU Operator config (ClusterPolicy, mig-parted and device-plugin ConfigMaps) "
        "before nodes point at it",
    ),
    Stage(
        "config",
        (("", "ConfigMap"), ("", "Secret"), ("bitnami.com", "SealedSecret")),
        "configuration read by workloads",
    ),
    Stage(
        "quotas",
        (
            ("", "LimitRange"),
            ("", "ResourceQuota"),
            ("kueue.x-k8s.io", "Topology"),
            ("kueue.x-k8s.io", "ResourceFlavor"),
            ("kueue.x-k8s.io", "AdmissionCheck"),
            ("kueue.x-k8s.io", "Cohort"),
            ("kueue.x-k8s.io", "ClusterQueue"),
            ("kueue.x-k8s.io", "LocalQueue"),
        ),
        "quotas and queues before the jobs they admit",
    ),
    Stage(
        "node-pools",
        (("gpuctl.dev", "NodePoolPatch"),),
        "GPU node labels/taints (rollouts for disruptive changes) before GPU workloads",
    ),
    Stage("workloads", (), "everything else: Deployments, RayClusters, training jobs, ..."),
)

STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)
GPU_OPERATOR_STAGE = "gpu-operator"
CRDS = "crds"
NODE_POOLS = "node-pools"
_CATCH_ALL = len(STAGES) - 1
_INDEX: dict[tuple[str, str], tuple[int, int]] = {
    key: (stage_index, kind_index)
    for stage_index, stage in enumerate(STAGES)
    for kind_index, key in enumerate(stage.kinds)
}


def stage_of(ref: ObjectRef) -> tuple[int, int]:
    """(stage index, rank within the stage) of an object."""
    found = _INDEX.get((ref.group, ref.kind))
    if found is not None:
        return found
    for stage_index, stage in enumerate(STAGES):
        if stage.kind_suffix and ref.kind.endswith(stage.kind_suffix):
            return stage_index, len(stage.kinds)
    return _CATCH_ALL, 0


def stage_index(name: str) -> int:
    return STAGE_NAMES.index(name)


def stage_name(ref: ObjectRef) -> str:
    """The stage an object of this identity is applied in (by kind)."""
    return STAGE_NAMES[stage_of(ref)[0]]


def sort_key(stage: str, ref: ObjectRef) -> tuple[int, int, ObjectRef]:
    """Total apply order: stage, rank of the kind inside the stage, identity."""
    return (STAGE_NAMES.index(stage), stage_of(ref)[1], ref)
