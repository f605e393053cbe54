"""The inventory: the set of objects gpuctl applied, the only basis of pruning (never label
guesses). Serialised as sorted text lines `apiVersion|Kind|namespace|name`, one per object,
into a ConfigMap in gpuctl's namespace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.refs import ObjectRef

INVENTORY_NAME = "gpuctl-inventory"
INVENTORY_KEY = "inventory"


@dataclass(frozen=True, order=True)
class InventoryEntry:
    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> InventoryEntry:
        meta = obj.get("metadata") or {}
        return cls(
            str(obj["apiVersion"]), str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"])
        )

    @property
    def ref(self) -> ObjectRef:
        group = self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""
        return ObjectRef(group, self.kind, self.namespace, self.name)

    def line(self) -> str:
        return f"{self.api_version}|{self.kind}|{self.namespace}|{self.name}"


class InventoryFormatError(ValueError):
    pass


@dataclass(frozen=True)
class Inventory:
    entries: frozenset[InventoryEntry] = frozenset()

    @classmethod
    def of(cls, objects: Iterable[dict[str, Any]]) -> Inventory:
        return cls(frozenset(InventoryEntry.of(o) for o in objects))

    @classmethod
    def parse(cls, text: str) -> Inventory:
        entries = set()
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split("|")
            if len(parts) != 4:
                raise InventoryFormatError(
                    f"inventory line {number}: {line!r} is not apiVersion|Kind|namespace|name"
                )
            entries.add(InventoryEntry(*parts))
        return cls(frozenset(entries))

    def text(self) -> str:
        return "".join(entry.line() + "\n" for entry in sorted(self.entries))

    def refs(self) -> dict[ObjectRef, InventoryEntry]:
        return {entry.ref: entry for entry in self.entries}

    def union(self, other: Inventory) -> Inventory:
        return Inventory(self.entries | other.entries)

    def without(self, refs: Iterable[ObjectRef]) -> Inventory:
        drop = set(refs)
        return Inventory(frozenset(e for e in self.entries if e.ref not in drop))

    def __len__(self) -> int:
        return len(self.entries)


def inventory_configmap(namespace: str, inventory: Inventory) -> dict[str, Any]:
    """The ConfigMap that stores `inventory` in `namespace`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": INVENTORY_NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "gpuctl"},
        },
        "data": {INVENTORY_KEY: inventory.text()},
    }
