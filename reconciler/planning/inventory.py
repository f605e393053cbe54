"""The inventory: the set of objects gpuctl applied, the only basis of pruning (never label
guesses). Serialised as sorted text lines `apiVersion|Kind|namespace|name`, one per object,
into a ConfigMap in gpuctl's namespace: as readable text while small, gzip-compressed in
`binaryData` beyond `INLINE_LIMIT` so that tens of thousands of objects stay far below the
1 MiB ConfigMap limit.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.errors import Terminal
from schemas.refs import ObjectRef

INVENTORY_NAME = "gpuctl-inventory"
INVENTORY_KEY = "inventory"
COMPRESSED_KEY = "inventory.gz"
INLINE_LIMIT = 256 * 1024


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


class InventoryFormatError(ValueError, Terminal):
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


def inventory_configmap(
    namespace: str, inventory: Inventory, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """The ConfigMap that stores `inventory` in `namespace` (with gpuctl's `annotations`)."""
    text = inventory.text()
    if len(text) <= INLINE_LIMIT:
        payload: dict[str, Any] = {"data": {INVENTORY_KEY: text}}
    else:
        packed = base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()
        payload = {"binaryData": {COMPRESSED_KEY: packed}}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": INVENTORY_NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "gpuctl"},
            **({"annotations": dict(annotations)} if annotations else {}),
        },
        **payload,
    }


def inventory_from_configmap(obj: dict[str, Any]) -> Inventory:
    """The inventory a ConfigMap written by `inventory_configmap` holds."""
    packed = (obj.get("binaryData") or {}).get(COMPRESSED_KEY)
    if packed:
        try:
            text = gzip.decompress(base64.b64decode(packed)).decode()
        except (ValueError, OSError) as exc:
            raise InventoryFormatError(f"{COMPRESSED_KEY} is not gzip-compressed text: {exc}") from exc
        return Inventory.parse(text)
    return Inventory.parse(str((obj.get("data") or {}).get(INVENTORY_KEY) or ""))
