"""`gpuctl get`: the live state at a glance, read from the cluster alone (as `argocd app get`
and `flux get kustomizations` show theirs): gpuctl's record of its last reconcile, each pool
with its nodes' MIG state (the desired `nvidia.com/mig.config`, the MIG manager's
`nvidia.com/mig.config.state`, the `nvidia.com/*` resources the node advertises) and rollout
phase, and every object of gpuctl's inventory with its health (`reconciler.health`, after
Argo CD's checks; Missing when it is gone).

Pools come from the desired state when the caller has it, else from the record (their node
selectors and targets are stored there), and in any case from gpuctl's rollout annotations.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from reconciler.apply.inventory_store import InventoryStore
from reconciler.health.assess import assess, snapshot_health
from reconciler.last_reconcile import LastReconcile, PoolRecord, record_of
from reconciler.protocols import ClusterClient, KubeObject
from reconciler.rollout.commands import PAUSED
from reconciler.rollout.progress import POOL, Progress
from reconciler.rollout.targets import MIG_CONFIG, MIG_CONFIG_STATE, node_labels
from reconciler.rollout.waiting_taint import has_taint
from schemas.drain import drain_changes
from schemas.kinds import GPUNodePool, LabelSelector
from schemas.refs import ObjectRef
from schemas.results import HealthCode, HealthStatus

GPU_RESOURCE_PREFIX = "nvidia.com/"


def _health(status: HealthStatus) -> dict[str, str]:
    return {"status": status.code.name.capitalize(), "message": status.message}


@dataclass(frozen=True)
class NodeView:
    name: str
    mig_config: str
    mig_state: str
    advertises: dict[str, str]
    # draining | configuring | failed (a rollout in flight), waiting (its turn has not come),
    # pending (its labels differ from the pool's target), done.
    phase: str
    paused: bool
    health: HealthStatus

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "migConfig": self.mig_config, "migConfigState": self.mig_state,
            "advertises": self.advertises, "rolloutPhase": self.phase, "paused": self.paused,
            "health": _health(self.health),
        }  # fmt: skip


@dataclass(frozen=True)
class PoolView:
    name: str
    gpu_model: str
    target: dict[str, str]
    nodes: tuple[NodeView, ...]

    @property
    def phase(self) -> str:
        """The pool's rollout phase: the most advanced of its nodes' (done when all are)."""
        for phase in ("failed", "draining", "configuring", "waiting", "pending"):
            if any(n.phase == phase for n in self.nodes):
                return phase
        return "done"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "gpuModel": self.gpu_model, "target": self.target,
                "rolloutPhase": self.phase, "nodes": [n.as_dict() for n in self.nodes]}  # fmt: skip


@dataclass(frozen=True)
class ManagedView:
    ref: ObjectRef
    api_version: str
    health: HealthStatus

    def as_dict(self) -> dict[str, Any]:
        return {"ref": str(self.ref), "apiVersion": self.api_version, "health": _health(self.health)}


@dataclass(frozen=True)
class LiveState:
    namespace: str
    # Whether gpuctl ever reconciled this cluster (its inventory ConfigMap exists).
    reconciled: bool
    record: LastReconcile | None
    pools: tuple[PoolView, ...]
    managed: tuple[ManagedView, ...]

    def counts(self) -> dict[str, int]:
        """Managed objects per health status."""
        return dict(sorted(Counter(m.health.code.name.capitalize() for m in self.managed).items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "reconciled": self.reconciled,
            "lastReconcile": self.record.as_dict() if self.record else None,
            "pools": [p.as_dict() for p in self.pools],
            "managed": [m.as_dict() for m in self.managed],
            "health": self.counts(),
        }


def live_state(client: ClusterClient, namespace: str, pools: list[GPUNodePool] | None = None) -> LiveState:
    """What the cluster holds of gpuctl's installation in `namespace`."""
    store = InventoryStore(client, namespace)
    inventory = store.load()
    reconciled = client.get("v1", "ConfigMap", store.ref.name, namespace) is not None
    record = record_of(store.record_text)
    specs = [PoolRecord.of(p) for p in pools] if pools is not None else list(record.pools if record else ())
    nodes = client.list_objects("v1", "Node")
    views = tuple(_pool_view(spec, nodes) for spec in specs)
    known = {spec.name for spec in specs}
    stray = sorted({_notes(n)[POOL] for n in nodes if _notes(n).get(POOL) and _notes(n)[POOL] not in known})
    views += tuple(_pool_view(PoolRecord(name, {"matchLabels": {}}, {}), nodes, by_selector=False)
                   for name in stray)  # fmt: skip
    targets = {entry.ref: entry.api_version for entry in inventory.entries}
    health = snapshot_health(client, targets)
    managed = tuple(
        ManagedView(ref, targets[ref], health[ref]) for ref in sorted(targets, key=lambda r: (r.kind, str(r)))
    )
    return LiveState(namespace, reconciled, record, views, managed)


def _notes(node: KubeObject) -> dict[str, str]:
    return dict((node.get("metadata") or {}).get("annotations") or {})


def _pool_view(spec: PoolRecord, nodes: list[KubeObject], *, by_selector: bool = True) -> PoolView:
    try:
        selector = LabelSelector.model_validate(spec.node_selector)
    except ValidationError:
        selector = None
    members = [
        n for n in nodes
        if _notes(n).get(POOL) == spec.name
        or (by_selector and selector is not None and selector.matches(node_labels(n)))
    ]  # fmt: skip
    members.sort(key=lambda n: str(n["metadata"]["name"]))
    return PoolView(spec.name, spec.gpu_model, dict(spec.target), tuple(_node_view(n, spec) for n in members))


def _node_view(node: KubeObject, spec: PoolRecord) -> NodeView:
    labels = node_labels(node)
    progress = Progress.of(node)
    if progress.phase is not None:
        phase = progress.phase.value
    elif has_taint(node):
        phase = "waiting"
    elif spec.target and drain_changes(labels, spec.target):
        phase = "pending"
    else:
        phase = "done"
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    advertises = {
        str(k): str(v) for k, v in sorted(allocatable.items()) if str(k).startswith(GPU_RESOURCE_PREFIX)
    }
    name = str(node["metadata"]["name"])
    return NodeView(
        name=name,
        mig_config=labels.get(MIG_CONFIG, ""),
        mig_state=labels.get(MIG_CONFIG_STATE, ""),
        advertises=advertises,
        phase=phase,
        paused=PAUSED in _notes(node),
        health=assess(ObjectRef("", "Node", "", name), node),
    )


def worst(state: LiveState) -> HealthCode:
    """The worst health among the managed objects and the pools' nodes."""
    codes = [m.health.code for m in state.managed] + [n.health.code for p in state.pools for n in p.nodes]
    return max(codes, default=HealthCode.HEALTHY)
