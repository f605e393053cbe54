"""What the demo's live rollout table shows: each node of a pool, read from the cluster
(the engine keeps a node's rollout phase in its annotations), as waiting → cordoned →
draining → reconfiguring → done, with the number of the node's GPU pods evicted so far,
and the largest number of nodes seen unavailable at once (to hold against maxUnavailable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.protocols import ClusterClient
from reconciler.rollout.progress import Phase, Progress

MIG_CONFIG = "nvidia.com/mig.config"
MIG_STATE = "nvidia.com/mig.config.state"


class NodeState(StrEnum):
    WAITING = "waiting"
    CORDONED = "cordoned"
    DRAINING = "draining"
    RECONFIGURING = "reconfiguring"
    DONE = "done"
    FAILED = "failed"


UNAVAILABLE = frozenset({NodeState.CORDONED, NodeState.DRAINING, NodeState.RECONFIGURING, NodeState.FAILED})


@dataclass
class NodeRow:
    name: str
    state: NodeState = NodeState.WAITING
    # The GPU pods running on the node when the rollout began, and those since evicted.
    pods_at_start: frozenset[str] = frozenset()
    evicted: set[str] = field(default_factory=set)


def node_state(node: dict[str, Any], target_config: str, evicted: int) -> NodeState:
    """The state of one node in the rollout towards `target_config`."""
    progress = Progress.of(node)
    labels = (node.get("metadata") or {}).get("labels") or {}
    cordoned = bool((node.get("spec") or {}).get("unschedulable"))
    at_target = labels.get(MIG_CONFIG) == target_config
    if progress.phase is Phase.FAILED:
        return NodeState.FAILED
    if progress.phase is Phase.CONFIGURING or (cordoned and at_target and progress.phase is None):
        return NodeState.RECONFIGURING
    if progress.phase is Phase.DRAINING:
        return NodeState.DRAINING if evicted else NodeState.CORDONED
    if cordoned:
        return NodeState.CORDONED
    if at_target and labels.get(MIG_STATE) == "success":
        return NodeState.DONE
    return NodeState.WAITING


class RolloutTracker:
    """Polls the nodes of `pool` and the pods of `namespace` on them."""

    def __init__(self, client: ClusterClient, pool: str, target_config: str, namespace: str) -> None:
        self._client = client
        self._selector = f"gpuctl.dev/pool={pool}"
        self.target_config = target_config
        self._namespace = namespace
        nodes = self._nodes()
        pods = self._pods_by_node()
        self.rows = {
            name: NodeRow(name, pods_at_start=frozenset(pods.get(name, ()))) for name in sorted(nodes)
        }
        self.peak_unavailable = 0

    def _nodes(self) -> dict[str, dict[str, Any]]:
        listed = self._client.list_objects("v1", "Node", label_selector=self._selector)
        return {node["metadata"]["name"]: node for node in listed}

    def _pods_by_node(self) -> dict[str, set[str]]:
        """Pod names per node, leaving out pods already being deleted."""
        pods: dict[str, set[str]] = {}
        for pod in self._client.list_objects("v1", "Pod", namespace=self._namespace):
            node = (pod.get("spec") or {}).get("nodeName")
            if node and not pod["metadata"].get("deletionTimestamp"):
                pods.setdefault(node, set()).add(pod["metadata"]["name"])
        return pods

    def poll(self) -> list[tuple[str, NodeState, NodeState]]:
        """Read the cluster once; the (node, old state, new state) transitions seen."""
        nodes = self._nodes()
        pods = self._pods_by_node()
        changes = []
        for name, row in self.rows.items():
            row.evicted |= row.pods_at_start - pods.get(name, set())
            node = nodes.get(name)
            state = node_state(node, self.target_config, len(row.evicted)) if node else row.state
            if state is not row.state:
                changes.append((name, row.state, state))
                row.state = state
        unavailable = sum(1 for row in self.rows.values() if row.state in UNAVAILABLE)
        self.peak_unavailable = max(self.peak_unavailable, unavailable)
        return changes

    @property
    def done(self) -> bool:
        return all(row.state is NodeState.DONE for row in self.rows.values())

    @property
    def failed(self) -> list[str]:
        return [row.name for row in self.rows.values() if row.state is NodeState.FAILED]

    def table_rows(self) -> list[tuple[str, str, str]]:
        return [(row.name, row.state.value, f"{len(row.evicted)}/{len(row.pods_at_start)}")
                for row in self.rows.values()]
