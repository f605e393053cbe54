"""Pairing desired and live objects into a `Plan`: stages of (desired, live) pairs in apply
order, plus the objects to prune (in the inventory, no longer desired) in reverse order.
Pure: it reads a live snapshot and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import TerminalError
from reconciler.planning.inventory import Inventory
from reconciler.render.order import sort_key, stage_name
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
    stage: str


@dataclass
class Plan:
    stages: list[tuple[str, list[Pair]]] = field(default_factory=list)
    prunes: list[Pair] = field(default_factory=list)
    # Inventory entries whose object is already gone: drop them without a request.
    vanished: list[ObjectRef] = field(default_factory=list)

    def pairs(self) -> list[Pair]:
        return [pair for _, pairs in self.stages for pair in pairs]


class DuplicateObjectError(TerminalError):
    """Two desired documents describe the same object."""


def plan(desired: list[tuple[str, KubeObject]], live: Snapshot, inventory: Inventory) -> Plan:
    """Pair `desired` (stage name, object) with the `live` snapshot; prune what the inventory
    has beyond them."""
    keyed = sorted(
        ((sort_key(stage, ObjectRef.of(obj)), stage, obj) for stage, obj in desired), key=lambda k: k[0]
    )
    by_stage: dict[str, list[Pair]] = {}
    wanted: set[ObjectRef] = set()
    for (_, _, ref), stage, obj in keyed:
        if ref in wanted:
            raise DuplicateObjectError("is defined twice in the desired state", ref)
        wanted.add(ref)
        by_stage.setdefault(stage, []).append(Pair(ref, obj, live.get(ref), str(obj["apiVersion"]), stage))
    result = Plan(stages=list(by_stage.items()))
    prunes: list[tuple[tuple[int, int, ObjectRef], Pair]] = []
    for ref, entry in inventory.refs().items():
        if ref in wanted:
            continue
        current = live.get(ref)
        if current is None:
            result.vanished.append(ref)
            continue
        stage = stage_name(ref)
        prunes.append((sort_key(stage, ref), Pair(ref, None, current, entry.api_version, stage)))
    result.prunes = [pair for _, pair in sorted(prunes, key=lambda item: item[0], reverse=True)]
    result.vanished.sort()
    return result
