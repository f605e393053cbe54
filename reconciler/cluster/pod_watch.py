"""Cluster-wide LIST + WATCH of one kind (Pods and Nodes for the workload capture), on its own
thread and its own connection pool. Every (re)list hands the full item list to `on_list`, so a
consumer can reconcile what it missed while it was not watching (a restart, a 410 Gone); each
watch event then goes to `on_event(type, object)` as raw JSON. Errors are logged and the
list/watch restarts after a short pause; `stop()` ends the thread."""

from __future__ import annotations

import copy
import threading
from typing import Any, Protocol

import structlog
import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

from reconciler.cluster.errortext import error_line

log = structlog.get_logger("gpuctl.cluster.pod_watch")

_WATCH_TIMEOUT_S = 30
_RETRY_S = 2.0
_GONE = 410


class ListWatchConsumer(Protocol):
    """What a `ListWatcher` feeds: the full list after every (re)list, then each event."""

    def on_list(self, kind: str, items: list[dict[str, Any]]) -> None: ...

    def on_event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None: ...


class ListWatcher:
    """Follows every object of (api_version, kind) in all namespaces."""

    def __init__(
        self,
        api: client.ApiClient,
        api_version: str,
        kind: str,
        consumer: ListWatchConsumer,
        *,
        retry_s: float = _RETRY_S,
        not_served_retry_s: float = 60.0,
    ) -> None:
        self._api = client.ApiClient(copy.copy(api.configuration))
        self.api_version, self.kind = api_version, kind
        self._consumer = consumer
        self._retry_s = retry_s
        self._not_served_retry_s = not_served_retry_s  # an optional CRD: look again now and then
        self._stop = threading.Event()
        self._watcher: watch.Watch | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"gpuctl-listwatch-{kind}", daemon=True)
        self.synced = threading.Event()  # set after the first successful list

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            if self._watcher is not None:
                self._watcher.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._api.close()

    def _run(self) -> None:
        resource: Any = None
        while not self._stop.is_set():
            pause = self._retry_s
            try:
                if resource is None:
                    resources = DynamicClient(self._api).resources
                    resource = resources.get(api_version=self.api_version, kind=self.kind)
                self._list_then_watch(resource)
            except ResourceNotFoundError:
                log.debug("kind not served", kind=self.kind, api_version=self.api_version)
                pause = self._not_served_retry_s
            except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                if self._stop.is_set():
                    return
                if getattr(exc, "status", None) != _GONE:
                    log.warning("list/watch failed, retrying", kind=self.kind, error=error_line(exc))
            self._stop.wait(pause)

    def _list_then_watch(self, resource: Any) -> None:
        listed = resource.get().to_dict()
        self._consumer.on_list(self.kind, list(listed.get("items") or []))
        self.synced.set()
        version = listed["metadata"]["resourceVersion"]
        while not self._stop.is_set():
            watcher = watch.Watch()
            with self._lock:
                self._watcher = watcher
            for event in watcher.stream(resource.get, resource_version=version, serialize=False,
                                        timeout_seconds=_WATCH_TIMEOUT_S):
                if self._stop.is_set():
                    return
                obj = event.get("raw_object") or event.get("object")
                event_type = str(event.get("type"))
                if event_type == "ERROR":
                    raise ApiException(status=(obj or {}).get("code", _GONE), reason="watch error event")
                if isinstance(obj, dict):
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if event_type in ("ADDED", "MODIFIED", "DELETED"):
                        self._consumer.on_event(self.kind, event_type, obj)




def capture_watchers(
    api: client.ApiClient, consumer: ListWatchConsumer, kueue_api_version: str, kueue_retry_s: float
) -> list[ListWatcher]:
    """The workload capture's watches, in start order: Nodes (so that pods find their pool),
    Kueue Workloads (an optional CRD, looked for every `kueue_retry_s`), Pods."""
    return [
        ListWatcher(api, "v1", "Node", consumer),
        ListWatcher(api, kueue_api_version, "Workload", consumer, not_served_retry_s=kueue_retry_s),
        ListWatcher(api, "v1", "Pod", consumer),
    ]
