"""How the emulated components write: through the same API verbs as any client, under
their own field manager, giving up quietly on a conflict (they retry on the next pass)."""

from __future__ import annotations

from typing import Any

from sandbox.api.errors import ApiError
from sandbox.api.handlers import Api, Request
from sandbox.api.resources import ResourceType


class ComponentWriter:
    def __init__(self, api: Api, manager: str) -> None:
        self.api = api
        self.manager = manager

    def rtype(self, group: str, version: str, plural: str) -> ResourceType:
        found = self.api.registry.lookup(group, version, plural)
        assert found is not None, f"{group}/{version}/{plural} is a built-in type"
        return found

    def update(
        self, rtype: ResourceType, obj: dict[str, Any], subresource: str = ""
    ) -> dict[str, Any] | None:
        """Write `obj` (with the resourceVersion it was read at); None when someone else wrote first."""
        meta = obj["metadata"]
        req = Request(
            rtype,
            meta.get("namespace", ""),
            meta["name"],
            subresource,
            {"fieldManager": self.manager},
            self.manager,
        )
        try:
            return self.api.update(req, obj)
        except ApiError as exc:
            if exc.code in (404, 409):
                return None
            raise

    def remove(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        """Finish deleting an object (kubelet confirming a pod is gone)."""
        meta = obj["metadata"]
        self.api.store.remove(rtype.group_resource, (meta.get("namespace", ""), meta["name"]))
