"""The cost of rolling a change out: which simulated nodes the reconciler would drain to move
from the base desired state to the head, and when each is unavailable.

A pool is disrupted when it exists in both states and its node configuration differs: a drain
label (`schemas.drain`, the rule the reconciler drains by: the MIG config name of a MIG-capable
model, the device-plugin config name), the MIG strategy, or the *content* of the mig-parted or
device-plugin config it names. Its nodes go down in batches of `rollout.maxUnavailable`, one
batch after the other from the start of the horizon; each batch is unavailable for the pool's
drain timeout plus its reconfiguration time (the MIG timeout when the MIG layout changes, a
device-plugin restart otherwise). Timeouts are upper bounds, so the estimate is pessimistic.

Pure code over two `DesiredState`s (the same node names as `simulator.cluster`); it does not
ask the reconciler's planner, which the simulator must not import.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.desired import DesiredState
from schemas.drain import describe_change, drain_labels, pool_drain_changes
from schemas.kinds import GPUNodePool
from schemas.nodelabels import DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL

DEVICE_PLUGIN_RESTART_S = 60.0  # the plugin DaemonSet pod restarting with its new config


@dataclass(frozen=True)
class NodeOutage:
    """Node `node` of pool `pool` is unavailable during [start_s, end_s)."""

    pool: str
    node: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PoolDisruption:
    """Why and how a pool is rolled out: what changed, batch size and per-batch time."""

    pool: str
    reasons: tuple[str, ...]
    nodes: int
    batch_size: int
    step_s: float

    @property
    def batches(self) -> int:
        return -(-self.nodes // self.batch_size)

    @property
    def duration_s(self) -> float:
        return self.batches * self.step_s


def node_name(pool: str, index: int) -> str:
    """The simulated name of node `index` of `pool` (as `simulator.cluster` builds it)."""
    return f"{pool}-{index:04d}"


def _mig_content(state: DesiredState, pool: GPUNodePool) -> object:
    name = pool.spec.mig.config
    if state.mig_parted is not None and name in state.mig_parted.mig_configs:
        return [entry.model_dump(mode="json") for entry in state.mig_parted.mig_configs[name]]
    return None  # a built-in layout: its name says everything


def _plugin_content(state: DesiredState, pool: GPUNodePool) -> object:
    if pool.spec.device_plugin is None:
        return None
    config = state.device_plugin.get(pool.spec.device_plugin.config)
    return config.model_dump(mode="json") if config is not None else None


def _reasons(base: DesiredState, head: DesiredState, old: GPUNodePool, new: GPUNodePool) -> list[str]:
    """Why the pool's nodes are drained: its drain labels change (`schemas.drain`, the rule the
    reconciler follows), or, under the same names, the configs they name are edited, or the
    MIG strategy changes (counted here as a drain too: an upper bound)."""
    changes = pool_drain_changes(old, new)
    wanted = drain_labels(new)
    reasons = []
    if MIG_CONFIG_LABEL in changes:
        reasons.append(describe_change(MIG_CONFIG_LABEL, changes[MIG_CONFIG_LABEL]))
    elif MIG_CONFIG_LABEL in wanted and _mig_content(base, old) != _mig_content(head, new):
        reasons.append(f"MIG config {new.spec.mig.config} edited")
    if old.spec.mig.strategy != new.spec.mig.strategy:
        reasons.append(f"MIG strategy {old.spec.mig.strategy} → {new.spec.mig.strategy}")
    if DEVICE_PLUGIN_CONFIG_LABEL in changes:
        reasons.append(describe_change(DEVICE_PLUGIN_CONFIG_LABEL, changes[DEVICE_PLUGIN_CONFIG_LABEL]))
    elif DEVICE_PLUGIN_CONFIG_LABEL in wanted and _plugin_content(base, old) != _plugin_content(head, new):
        reasons.append(f"device-plugin config {wanted[DEVICE_PLUGIN_CONFIG_LABEL]} edited")
    return reasons


def disruptions(base: DesiredState, head: DesiredState) -> list[PoolDisruption]:
    """Pools of `head` whose nodes must be drained and reconfigured, in `head`'s pool order."""
    old_pools = {p.metadata.name: p for p in base.pools}
    result = []
    for new in head.pools:
        old = old_pools.get(new.metadata.name)
        if old is None or new.spec.nodes == 0:
            continue  # a new pool has no running nodes to drain
        reasons = _reasons(base, head, old, new)
        if not reasons:
            continue
        rollout = new.spec.rollout
        mig_changed = any(r.startswith("MIG") for r in reasons)
        step = rollout.drain_timeout + (rollout.mig_timeout if mig_changed else DEVICE_PLUGIN_RESTART_S)
        result.append(
            PoolDisruption(
                pool=new.metadata.name,
                reasons=tuple(reasons),
                nodes=new.spec.nodes,
                batch_size=min(new.spec.nodes, rollout.max_unavailable_for(new.spec.nodes)),
                step_s=step,
            )
        )
    return result


def rollout_outages(base: DesiredState, head: DesiredState) -> list[NodeOutage]:
    """Every node the change drains, with its unavailable window. Pools roll out in parallel
    (the reconciler bounds parallelism per pool); inside a pool, batch k runs k-th."""
    outages = []
    for pool in disruptions(base, head):
        for index in range(pool.nodes):
            batch = index // pool.batch_size
            start = batch * pool.step_s
            outages.append(NodeOutage(pool.pool, node_name(pool.pool, index), start, start + pool.step_s))
    return outages
