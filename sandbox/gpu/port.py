"""The seam between the emulated GPU components (MIG manager, device plugin, GFD, kubelet,
heartbeats) and the API server they act on: a small typed port with two implementations,
`LocalPort` here (the embedded sandbox's in-process API, no HTTP) and
`sandbox.remote.RemotePort` (any API server, through a kubeconfig).

Resources are `(group, plural)` pairs, as the sandbox's store names them. Writes give up
quietly on a conflict or a missing object (`None`): the components retry on their next pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sandbox.api.errors import ApiError
from sandbox.api.handlers import Api, Request
from sandbox.api.resources import ResourceType

Resource = tuple[str, str]  # (group, plural)
Obj = dict[str, Any]

NODES: Resource = ("", "nodes")
PODS: Resource = ("", "pods")
EVENTS: Resource = ("", "events")
LEASES: Resource = ("coordination.k8s.io", "leases")
CONFIGMAPS: Resource = ("", "configmaps")
CLUSTER_POLICIES: Resource = ("nvidia.com", "clusterpolicies")

# The version the components speak for each resource they touch.
VERSIONS: dict[Resource, str] = {
    NODES: "v1",
    PODS: "v1",
    EVENTS: "v1",
    LEASES: "v1",
    CONFIGMAPS: "v1",
    CLUSTER_POLICIES: "v1",
}


# Refusals a create gives up on quietly: namespace terminating, namespace missing, exists.
CREATE_REFUSALS = (403, 404, 409)
# Refusals an update gives up on quietly (retried on the next pass): gone, written meanwhile.
UPDATE_REFUSALS = (404, 409)


class Change(Protocol):
    """Something changed in one resource."""

    @property
    def resource(self) -> Resource: ...


class ClusterPort(Protocol):
    """What the emulated components need from an API server."""

    def list(self, resource: Resource, namespace: str = "") -> list[Obj]:
        """Objects of `resource` (in `namespace`, or all), sorted by (namespace, name)."""

    def get(self, resource: Resource, namespace: str, name: str) -> Obj | None:
        """One object, or None."""

    def create(self, resource: Resource, obj: Obj, manager: str) -> Obj | None:
        """Create `obj`; None when it exists already or its namespace does not (or is terminating)."""

    def update(self, resource: Resource, obj: Obj, manager: str, subresource: str = "") -> Obj | None:
        """Replace `obj` (guarded by its resourceVersion); None when someone wrote first or it is gone."""

    def finish_delete(self, resource: Resource, obj: Obj) -> None:
        """Finish a graceful deletion (the kubelet confirming a pod is gone)."""

    def add_listener(self, listener: Callable[[Change], None]) -> None:
        """Call `listener` on every change (from any thread)."""


class LocalPort:
    """The embedded sandbox's API, called in process."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def _type(self, resource: Resource) -> ResourceType:
        found = self._api.registry.lookup(resource[0], VERSIONS.get(resource, "v1"), resource[1])
        assert found is not None, f"{resource} is served by the sandbox"
        return found

    def list(self, resource: Resource, namespace: str = "") -> list[Obj]:
        return self._api.store.list_objects(resource, namespace or None)[0]

    def get(self, resource: Resource, namespace: str, name: str) -> Obj | None:
        return self._api.store.get(resource, (namespace, name))

    def create(self, resource: Resource, obj: Obj, manager: str) -> Obj | None:
        namespace = obj["metadata"].get("namespace", "")
        req = Request(self._type(resource), namespace, params={"fieldManager": manager}, user_agent=manager)
        try:
            return self._api.create(req, obj)
        except ApiError as exc:
            if exc.code in CREATE_REFUSALS:
                return None
            raise

    def update(self, resource: Resource, obj: Obj, manager: str, subresource: str = "") -> Obj | None:
        meta = obj["metadata"]
        req = Request(
            self._type(resource),
            meta.get("namespace", ""),
            meta["name"],
            subresource,
            {"fieldManager": manager},
            manager,
        )
        try:
            return self._api.update(req, obj)
        except ApiError as exc:
            if exc.code in UPDATE_REFUSALS:
                return None
            raise

    def finish_delete(self, resource: Resource, obj: Obj) -> None:
        meta = obj["metadata"]
        self._api.store.remove(resource, (meta.get("namespace", ""), meta["name"]))

    def add_listener(self, listener: Callable[[Change], None]) -> None:
        self._api.store.add_listener(listener)
