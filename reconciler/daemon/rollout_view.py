"""The daemon's view of the pools' live Nodes: what `gpuctl_rollout_nodes{pool,state}` shows
(each pool's nodes by rollout state; the engine keeps a node's rollout phase in its
annotations, so the gauge moves while a rollout runs), and whether a Node has drifted (a
label its pool sets was changed by someone else)."""

from __future__ import annotations

from typing import Any

# As in reconciler.pipeline: `reconciler.source` must load before the rollout modules, which
# reach `reconciler.validation` (and it `reconciler.source`) through their imports.
import reconciler.source  # noqa: F401
from reconciler.rollout.progress import Progress
from reconciler.rollout.targets import (
    PoolOverlapError,
    assign_nodes,
    needs_rollout,
    node_labels,
    target_for,
)
from schemas.kinds import GPUNodePool

# `pending`: still has the old disruptive labels; `draining`/`configuring`/`failed`: the
# engine's phase annotations; `done`: carries the pool's target labels.
STATES = ("pending", "draining", "configuring", "failed", "done")


def rollout_states(pools: list[GPUNodePool], nodes: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Pool name → state → number of nodes (every state present, zeros included)."""
    try:
        assigned = assign_nodes(pools, nodes)
    except PoolOverlapError:
        return {}  # the pass reports the overlap; no meaningful picture until it is fixed
    states: dict[str, dict[str, int]] = {}
    for pool in pools:
        target = target_for(pool)
        counts = dict.fromkeys(STATES, 0)
        for node in assigned[pool.metadata.name]:
            phase = Progress.of(node).phase
            if phase is not None:
                counts[phase.value] += 1
            elif needs_rollout(node, target):
                counts["pending"] += 1
            else:
                counts["done"] += 1
        states[pool.metadata.name] = counts
    return states


def node_drifted(pools: list[GPUNodePool], node: dict[str, Any]) -> bool:
    """Whether `node`, outside a rollout, lacks a label its pool sets (e.g. someone ran
    `kubectl label --overwrite` on it). Nodes of no pool, or mid-rollout, never count."""
    labels = node_labels(node)
    matching = [pool for pool in pools if pool.spec.node_selector.matches(labels)]
    if len(matching) != 1 or Progress.of(node).phase is not None:
        return False
    target = target_for(matching[0])
    wanted = {**target.labels, **target.disruptive}
    return any(labels.get(key) != value for key, value in wanted.items())
