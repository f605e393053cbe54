"""Drift detection: Kubernetes watches on the objects gpuctl manages, so that a change made
by someone else is put back without waiting for the periodic resync.

One thread per kind LISTs (for a starting resourceVersion) and then WATCHes; an event on a
managed object is drift unless gpuctl itself made the change (its field manager owns the
newest non-status managedFields entry). Drift is reported through `on_drift(ref)`; the
daemon turns it into a reconcile request, and the work queue coalesces a burst into one."""

from __future__ import annotations

import copy
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import structlog
import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

from reconciler.cluster.client import FIELD_MANAGER
from reconciler.cluster.errortext import error_line
from schemas.refs import ObjectRef

log = structlog.get_logger("gpuctl.cluster.watches")

_WATCH_TIMEOUT_S = 30
_RETRY_S = 2.0
_GONE = 410
_NODES = ("v1", "Node")

NodeCheck = Callable[[dict[str, Any]], bool]
"""Whether a Node (as the API returns it) has drifted from what its pool wants."""
_POOL_SIZE = 64


def changed_by_gpuctl(obj: dict[str, Any], field_manager: str = FIELD_MANAGER) -> bool:
    """Whether gpuctl alone made the newest spec/metadata write recorded in managedFields.
    Times have one-second resolution: when another manager wrote in the same second, the
    change counts as someone else's (a needless pass is cheap, a missed drift is not)."""
    entries = [
        e for e in (obj.get("metadata") or {}).get("managedFields") or []
        if e.get("subresource") != "status"
    ]
    if not entries:
        return False
    newest = max(str(e.get("time") or "") for e in entries)
    managers = {e.get("manager") for e in entries if str(e.get("time") or "") == newest}
    return managers == {field_manager}


class DriftWatcher:
    """Follows the kinds and objects of the last loaded revision."""

    def __init__(self, api: client.ApiClient, on_drift: Callable[[ObjectRef], None]) -> None:
        # Its own client: one long-lived connection per watched kind must not starve the
        # pool the engine's requests use.
        configuration = copy.copy(api.configuration)
        configuration.connection_pool_maxsize = _POOL_SIZE
        self._api = client.ApiClient(configuration)
        self._on_drift = on_drift
        self._managed: frozenset[ObjectRef] = frozenset()
        self._node_check: NodeCheck | None = None
        self._threads: dict[tuple[str, str], threading.Thread] = {}
        self._watchers: list[watch.Watch] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._dynamic: DynamicClient | None = None
        self._discovery_lock = threading.Lock()
        # A private discovery cache: the default file is shared by every client on the host.
        self._cache_dir = tempfile.TemporaryDirectory(prefix="gpuctl-watch-discovery-")

    def follow(
        self,
        kinds: Iterable[tuple[str, str]],
        objects: Iterable[ObjectRef],
        node_check: NodeCheck | None = None,
    ) -> None:
        """Watch `kinds` (apiVersion, kind) and report drift of `objects`; with `node_check`,
        also watch Nodes and report those for which it is true."""
        wanted = set(kinds) | ({_NODES} if node_check is not None else set())
        with self._lock:
            self._managed = frozenset(objects)
            self._node_check = node_check
            for key in sorted(wanted - set(self._threads)):
                if self._stop.is_set():
                    return
                thread = threading.Thread(target=self._watch_kind, args=key, name=f"gpuctl-watch-{key[1]}",
                                          daemon=True)
                self._threads[key] = thread
                thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for watcher in self._watchers:
                watcher.stop()
        self._api.close()
        self._cache_dir.cleanup()

    def _resource(self, api_version: str, kind: str) -> Any:
        with self._discovery_lock:
            if self._dynamic is None:
                cache = str(Path(self._cache_dir.name) / "discovery.json")
                self._dynamic = DynamicClient(self._api, cache_file=cache)
            return self._dynamic.resources.get(api_version=api_version, kind=kind)

    def _watch_kind(self, api_version: str, kind: str) -> None:
        while not self._stop.is_set():
            try:
                resource = self._resource(api_version, kind)
                version = resource.get()["metadata"]["resourceVersion"]
                watcher = watch.Watch()
                with self._lock:
                    self._watchers.append(watcher)
                for event in watcher.stream(resource.get, resource_version=version, serialize=False,
                                            timeout_seconds=_WATCH_TIMEOUT_S):
                    if self._stop.is_set():
                        return
                    self._handle(event)
            except ResourceNotFoundError:
                log.debug("kind not served yet", kind=kind, api_version=api_version)
            except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                if self._stop.is_set():
                    return
                if getattr(exc, "status", None) != _GONE:
                    log.warning("watch failed, retrying", kind=kind, error=error_line(exc))
            self._stop.wait(_RETRY_S)

    def _handle(self, event: dict[str, Any]) -> None:
        kind_of_event = event.get("type")
        obj = event.get("raw_object") or event.get("object")
        if kind_of_event not in ("MODIFIED", "DELETED") or not isinstance(obj, dict):
            return
        ref = ObjectRef.of(obj)
        if (ref.group, ref.kind) == ("", "Node"):
            check = self._node_check
            if kind_of_event == "MODIFIED" and check is not None and check(obj):
                log.info("drift", ref=str(ref), change="node labels")
                self._on_drift(ref)
            return
        if ref not in self._managed:
            return
        if kind_of_event == "MODIFIED" and changed_by_gpuctl(obj):
            return
        log.info("drift", ref=str(ref), change=kind_of_event)
        self._on_drift(ref)
