"""`RemotePort`: the emulated GPU components' port to any API server, through a kubeconfig.
Reads come from informers (list-then-watch caches) of the resources the components watch;
writes are plain requests whose results update the cache at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox.gpu.port import CREATE_REFUSALS, UPDATE_REFUSALS, Change, Obj, Resource
from sandbox.remote.informer import Informer
from sandbox.remote.rest import Rest, RestError, path_of

SYNC_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RemoteChange:
    resource: Resource


class RemotePort:
    """A `ClusterPort` over HTTP. `watch` maps each cached resource to the namespace watched
    ("" for all)."""

    def __init__(self, kubeconfig: Path, watch: dict[Resource, str], context: str | None = None) -> None:
        self._rest = Rest(kubeconfig, context)
        self._listeners: list[Callable[[Change], None]] = []
        self._lock = threading.Lock()
        self._informers = {
            resource: Informer(self._rest, resource, namespace, self._changed)
            for resource, namespace in watch.items()
        }

    @property
    def rest(self) -> Rest:
        return self._rest

    def start(self) -> None:
        """Start every informer and wait until each has listed once (fails at once when the
        server cannot be reached or refuses the credentials)."""
        self._rest.request("GET", "/version")
        self._rest.request("GET", path_of(("", "nodes")), query={"limit": "1"})
        for informer in self._informers.values():
            informer.start()
        for informer in self._informers.values():
            if not informer.wait_synced(SYNC_TIMEOUT_S):
                raise RestError(
                    0, "Timeout", f"could not list {informer.resource[1]} within {SYNC_TIMEOUT_S:g}s"
                )

    def stop(self) -> None:
        for informer in self._informers.values():
            informer.stop()
        for informer in self._informers.values():
            informer.join(STOP_TIMEOUT_S)
        self._rest.close()

    def _changed(self, resource: Resource) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(RemoteChange(resource))

    def add_listener(self, listener: Callable[[Change], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def list(self, resource: Resource, namespace: str = "") -> list[Obj]:
        informer = self._informers.get(resource)
        if informer is None:
            items = self._rest.request("GET", path_of(resource, namespace)).get("items") or []
            return list(items)
        items = informer.items()
        return [o for o in items if o["metadata"].get("namespace", "") == namespace] if namespace else items

    def get(self, resource: Resource, namespace: str, name: str) -> Obj | None:
        informer = self._informers.get(resource)
        if informer is not None:
            return informer.get(namespace, name)
        try:
            return self._rest.request("GET", path_of(resource, namespace, name))
        except RestError as exc:
            if exc.code == 404:
                return None
            raise

    def create(self, resource: Resource, obj: Obj, manager: str) -> Obj | None:
        namespace = obj["metadata"].get("namespace", "")
        try:
            created = self._rest.request("POST", path_of(resource, namespace), obj, {"fieldManager": manager})
        except RestError as exc:
            if exc.code in CREATE_REFUSALS:
                return None
            raise
        self._observe(resource, created)
        return created

    def update(self, resource: Resource, obj: Obj, manager: str, subresource: str = "") -> Obj | None:
        meta = obj["metadata"]
        path = path_of(resource, meta.get("namespace", ""), meta["name"], subresource)
        try:
            written = self._rest.request("PUT", path, obj, {"fieldManager": manager})
        except RestError as exc:
            if exc.code in UPDATE_REFUSALS:
                return None
            raise
        self._observe(resource, written)
        return written

    def finish_delete(self, resource: Resource, obj: Obj) -> None:
        meta = obj["metadata"]
        options = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": meta.get("uid")},
        }
        try:
            self._rest.request("DELETE", path_of(resource, meta.get("namespace", ""), meta["name"]), options)
        except RestError as exc:
            if exc.code not in UPDATE_REFUSALS:
                raise

    def delete(self, resource: Resource, namespace: str, name: str) -> None:
        """Delete an object outright (the agent removing the Nodes it registered)."""
        try:
            self._rest.request("DELETE", path_of(resource, namespace, name))
        except RestError as exc:
            if exc.code != 404:
                raise
        informer = self._informers.get(resource)
        if informer is not None:
            informer.forget(namespace, name)

    def _observe(self, resource: Resource, obj: Obj) -> None:
        informer = self._informers.get(resource)
        if informer is not None and obj.get("metadata"):
            informer.observe(obj)
