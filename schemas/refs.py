"""Object identity: one canonical `Kind/namespace/name` string used by every log line,
error, change entry and audit record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of a Kubernetes object (group from apiVersion, kind, namespace, name)."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectRef:
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        meta = obj.get("metadata") or {}
        return cls(
            group, str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or "")
        )

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"
