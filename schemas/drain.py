"""When a GPU node must be drained: the one home of the rule, for the reconciler (which drains
live nodes, `reconciler.rollout`) and the simulator (which prices the drain of a change,
`simulator.rollout_cost`).

A node is drained and reconfigured when one of its pool's *drain labels* must change: the GPU
Operator's input labels `nvidia.com/mig.config` (MIG-capable models only; the MIG manager
re-partitions the GPUs) and `nvidia.com/device-plugin.config` (the device plugin restarts and
advertises other resources). Every other label and taint is applied in place. A label the
pool no longer asks for is left as it is, so it needs no drain either.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.kinds import GPUNodePool
from schemas.nodelabels import DEVICE_PLUGIN_CONFIG_LABEL, DISRUPTIVE_LABELS, MIG_CONFIG_LABEL, pool_labels

LabelChange = tuple[str | None, str]  # (the value now, None when absent; the value wanted)

_WHAT = {MIG_CONFIG_LABEL: "MIG config", DEVICE_PLUGIN_CONFIG_LABEL: "device-plugin config"}


def drain_labels(pool: GPUNodePool) -> dict[str, str]:
    """The labels of `pool`'s nodes that change only through a drain (a subset of
    `pool_labels(pool)`)."""
    return {key: value for key, value in pool_labels(pool).items() if key in DISRUPTIVE_LABELS}


def drain_changes(current: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, LabelChange]:
    """The drain labels of `wanted` that a node carrying the labels `current` must change,
    key → (now, wanted), in `DISRUPTIVE_LABELS` order: non-empty means drain the node."""
    return {
        key: (current.get(key), wanted[key])
        for key in DISRUPTIVE_LABELS
        if key in wanted and current.get(key) != wanted[key]
    }


def pool_drain_changes(old: GPUNodePool, new: GPUNodePool) -> dict[str, LabelChange]:
    """What moving the nodes of pool spec `old` to `new` changes that needs a drain."""
    return drain_changes(drain_labels(old), drain_labels(new))


def describe_change(key: str, change: LabelChange) -> str:
    """`MIG config all-disabled → all-1g.10gb`; an absent device-plugin label reads `default`."""
    before, after = change
    return f"{_WHAT.get(key, key)} {before or 'default'} → {after}"
