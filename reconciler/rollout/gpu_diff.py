"""The GPU part of a diff, per pool whose nodes would be rolled out: the MIG layout before →
after in words and instances per GPU, what each node advertises before → after, the
device-plugin sharing before → after, and the rollout plan (nodes, batches of
maxUnavailable, the longest it may take from the pool's timeouts).

"Before" is read from the live nodes (their `nvidia.com/mig.config` and
`nvidia.com/device-plugin.config` labels and their allocatable), "after" from the desired
state, with the geometry of `schemas` (catalogue, mig-parted configs, advertising rules)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from reconciler.rollout.targets import DEVICE_PLUGIN_CONFIG, MIG_CONFIG, assign_nodes, node_labels
from schemas.advertised import node_resources, pool_layouts
from schemas.desired import DesiredState
from schemas.durations import format_duration
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigLayout


@dataclass(frozen=True)
class PoolGpuChange:
    pool: str
    mig_before: str
    mig_after: str
    layout_before: str
    layout_after: str
    advertised: dict[str, tuple[int, int]]  # resource → (before, after), changed ones only
    sharing_before: str
    sharing_after: str
    nodes: list[str]
    batch_size: int
    max_seconds: float

    @property
    def batches(self) -> int:
        return math.ceil(len(self.nodes) / self.batch_size) if self.nodes else 0

    def lines(self) -> list[str]:
        out = [f"GPUNodePool/{self.pool}:"]
        if self.mig_before != self.mig_after or self.layout_before != self.layout_after:
            out.append(f"  MIG layout: {self.mig_before} → {self.mig_after}")
            out.append(f"    per GPU: {self.layout_before} → {self.layout_after}")
        if self.sharing_before != self.sharing_after:
            out.append(f"  device-plugin sharing: {self.sharing_before} → {self.sharing_after}")
        if self.advertised:
            out.append("  each node advertises:")
            width = max(len(r) for r in self.advertised)
            for resource, (before, after) in sorted(self.advertised.items()):
                out.append(f"    {resource.ljust(width)}  {before} → {after}")
        out.append(
            f"  rollout: {len(self.nodes)} nodes ({', '.join(self.nodes)}) in {self.batches} batches of "
            f"at most {self.batch_size} (maxUnavailable), at most {format_duration(self.max_seconds)} "
            f"(drainTimeout + migTimeout per batch)"
        )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "mig": {"before": self.mig_before, "after": self.mig_after},
            "layoutPerGpu": {"before": self.layout_before, "after": self.layout_after},
            "advertisedPerNode": {
                r: {"before": b, "after": a} for r, (b, a) in sorted(self.advertised.items())
            },
            "sharing": {"before": self.sharing_before, "after": self.sharing_after},
            "rollout": {
                "nodes": self.nodes,
                "batchSize": self.batch_size,
                "batches": self.batches,
                "maxSeconds": self.max_seconds,
            },
        }


def pool_changes(
    state: DesiredState, nodes: list[dict[str, Any]], pending: dict[str, list[str]]
) -> list[PoolGpuChange]:
    """One change per pool with nodes to roll out (pools sorted by name)."""
    assigned = assign_nodes(state.pools, nodes)
    changes = []
    for pool in sorted(state.pools, key=lambda p: p.metadata.name):
        names = pending.get(pool.metadata.name)
        if not names:
            continue
        everyone = assigned[pool.metadata.name]
        members = [n for n in everyone if n["metadata"]["name"] in names]
        changes.append(_change(state, pool, members, names, len(everyone)))
    return changes


def _change(
    state: DesiredState, pool: GPUNodePool, members: list[dict[str, Any]], names: list[str], size: int
) -> PoolGpuChange:
    labels = node_labels(members[0]) if members else {}
    before_pool = _as_labelled(pool, labels)
    after = node_resources(pool, state.mig_parted, state.device_plugin)
    before = _live_resources(members) or node_resources(before_pool, state.mig_parted, state.device_plugin)
    advertised = {
        r: (before.get(r, 0), after.get(r, 0))
        for r in sorted(set(before) | set(after))
        if before.get(r, 0) != after.get(r, 0)
    }
    rollout = pool.spec.rollout
    batch = max(1, rollout.max_unavailable_for(size))
    batches = math.ceil(len(names) / batch) if names else 0
    return PoolGpuChange(
        pool=pool.metadata.name,
        mig_before=labels.get(MIG_CONFIG, "unset"),
        mig_after=pool.spec.mig.config,
        layout_before=_layout_words(pool_layouts(before_pool, state.mig_parted)),
        layout_after=_layout_words(pool_layouts(pool, state.mig_parted)),
        advertised=advertised,
        sharing_before=_sharing(state, labels.get(DEVICE_PLUGIN_CONFIG)),
        sharing_after=_sharing(state, pool.spec.device_plugin.config if pool.spec.device_plugin else None),
        nodes=list(names),
        batch_size=batch,
        max_seconds=batches * (rollout.drain_timeout + rollout.mig_timeout),
    )


def _as_labelled(pool: GPUNodePool, labels: dict[str, str]) -> GPUNodePool:
    """The pool as its live nodes are now: their MIG and device-plugin config labels."""
    spec = pool.spec
    if MIG_CONFIG in labels:
        spec = spec.model_copy(update={"mig": spec.mig.model_copy(update={"config": labels[MIG_CONFIG]})})
    if DEVICE_PLUGIN_CONFIG in labels and spec.device_plugin is not None:
        plugin = spec.device_plugin.model_copy(update={"config": labels[DEVICE_PLUGIN_CONFIG]})
        spec = spec.model_copy(update={"device_plugin": plugin})
    return pool.model_copy(update={"spec": spec})


def _live_resources(members: list[dict[str, Any]]) -> dict[str, int]:
    """The GPU resources the first live node advertises (`status.allocatable`)."""
    if not members:
        return {}
    allocatable = (members[0].get("status") or {}).get("allocatable") or {}
    out = {}
    for name, value in allocatable.items():
        if str(name).startswith("nvidia.com/"):
            try:
                out[str(name)] = int(str(value))
            except ValueError:
                continue
    return out


def _layout_words(layouts: list[MigLayout | None] | None) -> str:
    """`1×3g.40gb + 2×1g.10gb` for each distinct GPU layout (`8 GPUs: …` when they differ)."""
    if layouts is None:
        return "unknown config"
    per_gpu = [_one_layout(layout) for layout in layouts]
    groups = Counter(per_gpu)
    if len(groups) == 1:
        return per_gpu[0]
    return "; ".join(f"{n} GPUs: {words}" for words, n in groups.items())


def _one_layout(layout: MigLayout | None) -> str:
    if layout is None:
        return "left as it is"
    if not layout.enabled:
        return "MIG off (whole GPU)"
    order = sorted(layout.devices.items(), key=lambda item: (-_size(item[0]), item[0]))
    return " + ".join(f"{n}×{profile}" for profile, n in order if n) or "MIG on, no instances"


def _size(profile: str) -> int:
    head = profile.split("g.", 1)[0].rsplit(".", maxsplit=1)[-1]
    return int(head) if head.isdigit() else 0


def _sharing(state: DesiredState, config: str | None) -> str:
    if config is None:
        return "no device-plugin config"
    plugin = state.device_plugin.get(config)
    if plugin is None:
        return f"{config} (not in this repository)"
    strategy = plugin.sharing_strategy
    if strategy == "none":
        return f"{config} (no sharing)"
    active = plugin.sharing.active if plugin.sharing is not None else None
    replicas = sorted({r.replicas for r in active.resources}) if active is not None else []
    times = "/".join(f"×{r}" for r in replicas)
    return f"{config} ({strategy} {times})".replace(" )", ")")
