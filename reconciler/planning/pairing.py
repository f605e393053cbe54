"""Pairing desired and live objects into a `Plan`: stages of (desired, live) pairs in apply
order, plus the objects to prune (in the inventory, no longer desired) in reverse order.
Pure: it reads a live snapshot and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.planning.inventory import Inventory
from reconciler.planning.order import Stage, sort_key, stage_of
from schemas.refs import ObjectRef

KubeObject = dict[str, Any]
Snapshot = dict[ObjectRef, KubeObject]


@dataclass(frozen=True)
class Pair:
    """One object: what Git wants (None when pruning) and what the cluster has (None if absent)."""

    ref: ObjectRef
    desired: KubeObject | None
    live: KubeObject | None
    api_version: str
    stage: Stage


@dataclass
class Plan:
    stages: list[tuple[Stage, list[Pair]]] = field(default_factory=list)
    prunes: list[Pair] = field(default_factory=list)
    # Inventory entries whose object is already gone: drop them without a request.
    vanished: list[ObjectRef] = field(default_factory=list)

    def pairs(self) -> list[Pair]:
        return [pair for _, pairs in self.stages for pair in pairs]


class DuplicateObjectError(ValueError):
    """Two desired documents describe the same object."""


def plan(desired: list[KubeObject], live: Snapshot, inventory: Inventory) -> Plan:
    """Pair `desired` objects with the `live` snapshot; prune what the inventory has beyond them."""
    by_stage: dict[Stage, list[Pair]] = {}
    wanted: set[ObjectRef] = set()
    for obj in sorted(desired, key=sort_key):
        ref = ObjectRef.of(obj)
        if ref in wanted:
            raise DuplicateObjectError(f"{ref} is defined twice in the desired state")
        wanted.add(ref)
        stage = stage_of(obj)
        by_stage.setdefault(stage, []).append(Pair(ref, obj, live.get(ref), str(obj["apiVersion"]), stage))
    result = Plan(stages=sorted(by_stage.items()))
    prunes: list[Pair] = []
    for ref, entry in inventory.refs().items():
        if ref in wanted:
            continue
        current = live.get(ref)
        if current is None:
            result.vanished.append(ref)
            continue
        prunes.append(Pair(ref, None, current, entry.api_version, stage_of(current)))
    result.prunes = sorted(prunes, key=lambda p: sort_key(p.live or {}), reverse=True)
    result.vanished.sort()
    return result
