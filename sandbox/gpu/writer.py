"""How the embedded-only controllers (scheduler, disruption, replication) write: through
the same API verbs as any client, under their own field manager, giving up quietly on a
conflict (they retry on the next pass). The GPU components write through a `ClusterPort`."""

from __future__ import annotations

from typing import Any

from sandbox.api.handlers import Api
from sandbox.api.resources import ResourceType
from sandbox.gpu.port import LocalPort


class ComponentWriter:
    def __init__(self, api: Api, manager: str) -> None:
        self.api = api
        self.manager = manager
        self._port = LocalPort(api)

    def rtype(self, group: str, version: str, plural: str) -> ResourceType:
        found = self.api.registry.lookup(group, version, plural)
        assert found is not None, f"{group}/{version}/{plural} is a built-in type"
        return found

    def update(
        self, rtype: ResourceType, obj: dict[str, Any], subresource: str = ""
    ) -> dict[str, Any] | None:
        """Write `obj` (with the resourceVersion it was read at); None when someone else wrote first."""
        return self._port.update(rtype.group_resource, obj, self.manager, subresource)

    def remove(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        """Finish deleting an object (kubelet confirming a pod is gone)."""
        self._port.finish_delete(rtype.group_resource, obj)
