"""What the demo's live rollout table shows: each node of a pool, read from the cluster
(the engine keeps a node's rollout phase in its annotations) through watch events and
periodic reads, as waiting → cordoned → draining → reconfiguring → done, with the number of
the node's GPU pods evicted so far, and the largest number of nodes seen unavailable at once
(to hold against maxUnavailable)."""

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


Transition = tuple[str, "NodeState", "NodeState"]
"""(node name, old state, new state)."""

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
    if not at_target:
        return NodeState.WAITING
    # At the target config: the MIG manager's state says whether it has finished.
    mig_state = labels.get(MIG_STATE)
    if mig_state == "success":
        return NodeState.DONE
    return NodeState.FAILED if mig_state == "failed" else NodeState.RECONFIGURING


class RolloutTracker:
    """The nodes of `pool` and the pods of `namespace` on them, updated from watch events
    (`observe`, so no short-lived state is missed) and from full reads (`poll`)."""

    def __init__(self, client: ClusterClient, pool: str, target_config: str, namespace: str) -> None:
        self._client = client
        self.node_selector = f"gpuctl.dev/pool={pool}"
        self.namespace = namespace
        self.target_config = target_config
        self._nodes = self._list_nodes()
        self._pods = self._list_pods()
        self.rows = {
            name: NodeRow(name, pods_at_start=frozenset(self._on_node(name))) for name in sorted(self._nodes)
        }
        self.peak_unavailable = 0

    def _list_nodes(self) -> dict[str, dict[str, Any]]:
        listed = self._client.list_objects("v1", "Node", label_selector=self.node_selector)
        return {node["metadata"]["name"]: node for node in listed}

    def _list_pods(self) -> dict[str, str]:
        """Pod name → node name, for the running pods (not being deleted) of the namespace."""
        listed = self._client.list_objects("v1", "Pod", namespace=self.namespace)
        return dict(filter(None, (_placement(pod) for pod in listed)))

    def _on_node(self, name: str) -> set[str]:
        return {pod for pod, node in self._pods.items() if node == name}

    def poll(self) -> list[Transition]:
        """Read every node and pod again; the (node, old state, new state) transitions."""
        self._nodes.update(self._list_nodes())
        self._pods = self._list_pods()
        return self._recompute(list(self.rows))

    def observe(self, kind: str, event_type: str, obj: dict[str, Any]) -> list[Transition]:
        """Apply one watch event (Node or Pod); the transitions it causes."""
        name = obj["metadata"]["name"]
        if kind == "Node":
            if name not in self.rows or event_type == "DELETED":
                return []
            self._nodes[name] = obj
            return self._recompute([name])
        before = self._pods.pop(name, None)
        placed = None if event_type == "DELETED" else _placement(obj)
        if placed is not None:
            self._pods[name] = placed[1]
        touched = {node for node in (before, placed and placed[1]) if node in self.rows}
        return self._recompute(sorted(touched))

    def _recompute(self, names: list[str]) -> list[Transition]:
        changes = []
        for name in names:
            row = self.rows[name]
            row.evicted |= row.pods_at_start - self._on_node(name)
            node = self._nodes.get(name)
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


def _placement(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(pod name, node name) of a bound pod that is not being deleted; None otherwise."""
    node = (pod.get("spec") or {}).get("nodeName")
    if not node or pod["metadata"].get("deletionTimestamp"):
        return None
    return pod["metadata"]["name"], node
