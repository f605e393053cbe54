"""What each GPU node should carry, from the `GPUNodePool` that selects it.

Non-disruptive: the pool's labels (minus the disruptive keys) and its taints, applied by
server-side apply of a partial Node. Disruptive: `nvidia.com/mig.config` (for MIG-capable
GPU models) and `nvidia.com/device-plugin.config`, changed only through a rollout.
Nodes that match no pool are never touched; a node matching two pools is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.errors import TerminalError
from reconciler.render import DEVICE_PLUGIN_CONFIG_LABEL, DISRUPTIVE_LABELS, MIG_CONFIG_LABEL, pool_labels
from schemas.drain import drain_changes, drain_labels
from schemas.kinds import GPUNodePool
from schemas.refs import ObjectRef

MIG_CONFIG = MIG_CONFIG_LABEL
MIG_CONFIG_STATE = "nvidia.com/mig.config.state"
DEVICE_PLUGIN_CONFIG = DEVICE_PLUGIN_CONFIG_LABEL


@dataclass(frozen=True)
class NodeTarget:
    pool: GPUNodePool
    labels: dict[str, str]
    taints: list[dict[str, str]]
    disruptive: dict[str, str]

    @property
    def pool_name(self) -> str:
        return self.pool.metadata.name


class PoolOverlapError(TerminalError):
    """A node is selected by more than one GPUNodePool."""


def node_labels(node: dict[str, Any]) -> dict[str, str]:
    return dict((node.get("metadata") or {}).get("labels") or {})


def target_for(pool: GPUNodePool) -> NodeTarget:
    """Split the pool's node labels (as `reconciler.render` computes them) by disruptiveness."""
    all_labels = pool_labels(pool)
    disruptive = drain_labels(pool)
    labels = {k: v for k, v in all_labels.items() if k not in DISRUPTIVE_LABELS}
    taints = [{k: v for k, v in taint.model_dump().items() if v != ""} for taint in pool.spec.taints]
    return NodeTarget(pool, labels, taints, disruptive)


def assign_nodes(pools: list[GPUNodePool], nodes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Matching live nodes per pool name (sorted by node name); PoolOverlapError on overlaps."""
    assigned: dict[str, list[dict[str, Any]]] = {pool.metadata.name: [] for pool in pools}
    for node in sorted(nodes, key=lambda n: str(n["metadata"]["name"])):
        labels = node_labels(node)
        matching = [pool.metadata.name for pool in pools if pool.spec.node_selector.matches(labels)]
        if len(matching) > 1:
            name = str(node["metadata"]["name"])
            raise PoolOverlapError(
                f"matches GPUNodePools {', '.join(matching)}; a node may belong to one pool only",
                ObjectRef("", "Node", "", name),
            )
        if matching:
            assigned[matching[0]].append(node)
    return assigned


def partial_node(name: str, target: NodeTarget) -> dict[str, Any] | None:
    """The partial Node gpuctl server-side applies: the pool's non-disruptive labels only
    (None when it sets none). Taints are merged separately (`rollout.node_state`)."""
    if not target.labels:
        return None
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": dict(target.labels)}}


def needs_rollout(node: dict[str, Any], target: NodeTarget) -> bool:
    """Whether `node` must be drained to carry `target`'s drain labels (`schemas.drain`)."""
    return bool(drain_changes(node_labels(node), target.disruptive))
