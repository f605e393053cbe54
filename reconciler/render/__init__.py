"""Rendering a validated `DesiredState` into the objects to apply, in apply order.

Plain manifests are rendered as written. Each GPUNodePool renders to what it means for the
cluster: a `NodePoolPatch` (gpuctl.dev/v1alpha1, never sent to the API server) naming the
nodes it selects, the labels and taints they must carry — including the GPU Operator's
input labels `nvidia.com/mig.config` (MIG-capable models only) and
`nvidia.com/device-plugin.config` — which of those labels are disruptive (changed through a
rollout), the rollout policy, and what each node then advertises. The MIG strategy is not a
node label (GFD writes `nvidia.com/mig.strategy`); it reaches the node through the
device-plugin config's `flags.migStrategy`. WorkloadProfiles feed the simulator only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.render.order import GPU_OPERATOR_STAGE, STAGES, stage_index, stage_of
from schemas.advertised import node_resources
from schemas.desired import DesiredState
from schemas.diagnostics import SourceLocation
from schemas.durations import format_duration
from schemas.kinds import API_VERSION, GPUCTL_GROUP, GPUNodePool
from schemas.nodelabels import DEVICE_PLUGIN_CONFIG_LABEL, DISRUPTIVE_LABELS, MIG_CONFIG_LABEL, pool_labels
from schemas.refs import ObjectRef

NODE_POOL_PATCH = "NodePoolPatch"
__all__ = [
    "DEVICE_PLUGIN_CONFIG_LABEL",
    "DISRUPTIVE_LABELS",
    "MIG_CONFIG_LABEL",
    "NODE_POOL_PATCH",
    "RenderedObject",
    "cluster_objects",
    "pool_labels",
    "pool_patch",
    "render",
]


@dataclass(frozen=True)
class RenderedObject:
    """One object to apply, the stage it belongs to, and where it came from."""

    stage: str
    ref: ObjectRef
    obj: dict[str, Any]
    source: SourceLocation | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "source": str(self.source) if self.source else None, "object": self.obj}


def render(state: DesiredState) -> list[RenderedObject]:
    """Every object of `state` in apply order (stage, then rank within it, then identity)."""
    operator_configs = state.gpu_operator_configs  # found by validation when loading
    keyed: list[tuple[tuple[int, int], ObjectRef, RenderedObject]] = []
    for manifest in state.manifests:
        rank = stage_of(manifest.ref)
        if manifest.ref in operator_configs:
            rank = (stage_index(GPU_OPERATOR_STAGE), len(STAGES[stage_index(GPU_OPERATOR_STAGE)].kinds))
        stage = STAGES[rank[0]].name
        keyed.append(
            (rank, manifest.ref, RenderedObject(stage, manifest.ref, manifest.obj, manifest.location))
        )
    for pool in state.pools:
        patch = pool_patch(pool, state)
        ref = ObjectRef.of(patch)
        pool_ref = ObjectRef("gpuctl.dev", "GPUNodePool", pool.metadata.namespace or "", pool.metadata.name)
        source = state.locations.get(pool_ref)
        rank = stage_of(ref)
        keyed.append((rank, ref, RenderedObject(STAGES[rank[0]].name, ref, patch, source)))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in keyed]


def cluster_objects(rendered: list[RenderedObject]) -> list[RenderedObject]:
    """What of `rendered` is sent to the API server: not gpuctl's own kinds (NodePoolPatch,
    applied as node labels by the pipeline) and never Nodes (pools describe them, and
    pruning never deletes them)."""
    return [item for item in rendered if item.ref.group != GPUCTL_GROUP and not _is_node(item.obj)]


def _is_node(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == "Node" and obj.get("apiVersion") == "v1"


def pool_patch(pool: GPUNodePool, state: DesiredState) -> dict[str, Any]:
    """The NodePoolPatch a GPUNodePool renders to."""
    spec = pool.spec
    labels = pool_labels(pool)
    selector = spec.node_selector.model_dump(by_alias=True, exclude_defaults=True)
    return {
        "apiVersion": API_VERSION,
        "kind": NODE_POOL_PATCH,
        "metadata": {"name": pool.metadata.name},
        "spec": {
            "nodeSelector": selector,
            "expectedNodes": spec.nodes,
            "gpu": {"model": spec.gpu.model, "perNode": spec.gpu.per_node},
            "labels": labels,
            "taints": [t.model_dump(by_alias=True) for t in spec.taints],
            "disruptiveLabels": [label for label in DISRUPTIVE_LABELS if label in labels],
            "rollout": {
                "maxUnavailable": spec.rollout.max_unavailable,
                "maxUnavailableNodes": spec.rollout.max_unavailable_for(spec.nodes),
                "drainTimeout": format_duration(spec.rollout.drain_timeout),
                "migTimeout": format_duration(spec.rollout.mig_timeout),
                "onFailure": spec.rollout.on_failure,
            },
            "advertisedPerNode": node_resources(pool, state.mig_parted, state.device_plugin),
        },
    }
