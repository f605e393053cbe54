"""`gpuctl rollout status`: each node of a pool's rollout, its phase, since when, and what it
waits for, read from the cluster alone (the phase annotations, the waiting taint, the GPU
pods still on a draining node and the PodDisruptionBudgets that allow them no disruption,
the MIG manager's state label). With the desired state, nodes still pending and those done
are listed too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from reconciler.protocols import ClusterClient, KubeObject
from reconciler.rollout.commands import PAUSED, pool_nodes
from reconciler.rollout.pods import gpu_pods
from reconciler.rollout.progress import CORDONED_BY, POOL, Phase, Progress
from reconciler.rollout.targets import MIG_CONFIG_STATE, assign_nodes, needs_rollout, node_labels, target_for
from reconciler.rollout.waiting_taint import has_taint
from schemas.kinds import GPUNodePool, LabelSelector


@dataclass(frozen=True)
class NodeRolloutStatus:
    node: str
    pool: str
    # draining | configuring | failed (the engine's phases), waiting (its turn has not come),
    # pending (needs a rollout, none running), done.
    phase: str
    since: float | None
    target: dict[str, str]
    blocked_by: tuple[str, ...]
    cordoned_by_gpuctl: bool
    paused: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "pool": self.pool,
            "phase": self.phase,
            "since": self.since,
            "target": self.target,
            "blockedBy": list(self.blocked_by),
            "cordonedByGpuctl": self.cordoned_by_gpuctl,
            "paused": self.paused,
        }


def rollout_status(
    client: ClusterClient, pools: list[GPUNodePool] | None = None, pool: str | None = None
) -> list[NodeRolloutStatus]:
    """The nodes of `pool` (or of every pool) that take part in a rollout; with `pools`, every
    member node of those pools."""
    names = _pool_names(client, pools) if pool is None else [pool]
    statuses = []
    known = {p.metadata.name: p for p in pools or []}
    for name in names:
        members = pool_nodes(client, name, pools)
        selected = (
            {str(n["metadata"]["name"]) for n in assign_nodes([known[name]], members)[name]}
            if (name in known)
            else set()
        )
        for node in members:
            status = _status(client, name, node, known.get(name), str(node["metadata"]["name"]) in selected)
            if status is not None:
                statuses.append(status)
    return statuses


def _pool_names(client: ClusterClient, pools: list[GPUNodePool] | None) -> list[str]:
    names = {p.metadata.name for p in pools or []}
    for node in client.list_objects("v1", "Node"):
        pool = ((node.get("metadata") or {}).get("annotations") or {}).get(POOL)
        if pool:
            names.add(str(pool))
    return sorted(names)


def _status(
    client: ClusterClient, pool: str, node: KubeObject, spec: GPUNodePool | None, selected: bool
) -> NodeRolloutStatus | None:
    name = str(node["metadata"]["name"])
    notes = (node.get("metadata") or {}).get("annotations") or {}
    progress = Progress.of(node)
    paused = PAUSED in notes
    blocked: tuple[str, ...] = ()
    since: float | None = progress.since or None
    if progress.phase is Phase.DRAINING:
        phase, blocked = progress.phase.value, drain_blockers(client, name)
    elif progress.phase is Phase.CONFIGURING:
        state = node_labels(node).get(MIG_CONFIG_STATE) or "unset"
        phase, blocked = progress.phase.value, (f"waiting for the MIG manager: {MIG_CONFIG_STATE}={state}",)
    elif progress.phase is Phase.FAILED:
        phase, blocked = progress.phase.value, (progress.failure or "failed (no reason recorded)",)
    elif has_taint(node):
        phase, since, blocked = "waiting", None, ("waiting for its turn (maxUnavailable)",)
    elif spec is not None and selected and needs_rollout(node, target_for(spec)):
        phase, since = "pending", None
    elif (spec is not None and selected) or paused:
        phase, since = "done", None
    else:
        return None
    if paused:
        blocked = (f"pool paused ({notes[PAUSED]}); gpuctl rollout resume {pool}", *blocked)
    target = progress.target or ({} if spec is None else target_for(spec).disruptive)
    return NodeRolloutStatus(
        name, pool, phase, since, dict(target), blocked, notes.get(CORDONED_BY) == "gpuctl", paused
    )


def drain_blockers(client: ClusterClient, node: str) -> tuple[str, ...]:
    """The GPU pods still on `node`, each with the PodDisruptionBudget that refuses its
    eviction now (disruptionsAllowed 0), or `terminating`."""
    budgets: dict[str, list[KubeObject]] = {}
    lines = []
    for pod in gpu_pods(client, node):
        meta = pod["metadata"]
        namespace = str(meta.get("namespace") or "")
        if namespace not in budgets:
            budgets[namespace] = client.list_objects("policy/v1", "PodDisruptionBudget", namespace=namespace)
        ref = f"Pod/{namespace}/{meta['name']}"
        if meta.get("deletionTimestamp"):
            lines.append(f"{ref}: terminating")
            continue
        refusing = [
            b for b in budgets[namespace] if _selects(b, meta.get("labels") or {}) and _allows_none(b)
        ]
        if refusing:
            lines += [f"{ref}: {_describe_budget(b)}" for b in refusing]
        else:
            lines.append(f"{ref}: eviction pending")
    return tuple(lines)


def _selects(budget: KubeObject, labels: dict[str, str]) -> bool:
    try:
        selector = LabelSelector.model_validate((budget.get("spec") or {}).get("selector") or {})
    except ValidationError:
        return False
    return selector.matches(labels)


def _allows_none(budget: KubeObject) -> bool:
    return int((budget.get("status") or {}).get("disruptionsAllowed") or 0) < 1


def _describe_budget(budget: KubeObject) -> str:
    meta, status = budget["metadata"], budget.get("status") or {}
    return (
        f"PodDisruptionBudget/{meta.get('namespace', '')}/{meta['name']} allows no disruption "
        f"({status.get('currentHealthy', '?')} healthy, needs {status.get('desiredHealthy', '?')})"
    )
