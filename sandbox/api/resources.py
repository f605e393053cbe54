"""The resource types the sandbox serves: what discovery lists and what the router resolves.

A `ResourceType` is one (group, version, plural); the `Registry` holds the built-in ones and
those that CustomResourceDefinitions add or remove at run time. Objects are stored once per
(group, plural), whatever version served them, like the real API server's storage.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

# Lists inside objects whose items are merged by key (server-side apply and strategic merge
# patch), by field name; lists not named here are atomic (replaced as a whole).
LIST_MAP_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "taints": ("key", "effect"),
    "ownerReferences": ("uid",),
    "conditions": ("type",),
    "imagePullSecrets": ("name",),
}
# Lists whose items are scalars kept as a set.
SET_LISTS = frozenset({"finalizers"})
# `ports` is keyed differently for containers and services.
PORT_KEYS = {"containerPort": ("containerPort", "protocol"), "port": ("port", "protocol")}


@dataclass(frozen=True)
class ResourceType:
    """One served resource: `GET /apis/{group}/{version}/{plural}`."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Kinds whose spec changes bump metadata.generation (everything with a spec).
    has_generation: bool = False
    has_status: bool = False
    list_kind: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> tuple[str, str]:
        """The storage key: one per (group, plural), shared by every served version."""
        return (self.group, self.plural)

    def list_kind_name(self) -> str:
        return self.list_kind or self.kind + "List"


@dataclass
class Registry:
    """Thread-safe table of served types; CRDs add and remove entries at run time."""

    _types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # (group, version) pairs in discovery order; groups keep their preferred version first.
    _order: list[tuple[str, str]] = field(default_factory=list)

    def add(self, rtype: ResourceType) -> None:
        with self._lock:
            self._types[(rtype.group, rtype.version, rtype.plural)] = rtype
            if (rtype.group, rtype.version) not in self._order:
                self._order.append((rtype.group, rtype.version))

    def remove(self, group: str, plural: str) -> None:
        """Stop serving every version of (group, plural)."""
        with self._lock:
            for key in [k for k in self._types if k[0] == group and k[2] == plural]:
                del self._types[key]
            served = {(g, v) for g, v, _ in self._types}
            self._order = [gv for gv in self._order if gv in served]

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def group_versions(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._order)

    def resources(self, group: str, version: str) -> list[ResourceType]:
        with self._lock:
            return [t for (g, v, _), t in self._types.items() if g == group and v == version]

    def served_versions(self, group: str) -> list[str]:
        return [v for g, v in self.group_versions() if g == group]

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        """The preferred served type of `kind` in `group`."""
        for version in self.served_versions(group):
            for rtype in self.resources(group, version):
                if rtype.kind == kind:
                    return rtype
        return None
