"""A list-then-watch cache of one resource on a remote API server (what client-go calls an
informer): the emulated components read from it instead of listing on every pass, and
every change wakes them. A watch that ends is resumed from the last resourceVersion; a
`410 Gone` or a failed request relists. A resource the server does not serve (a CRD not
installed yet) reads as empty and is retried."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

import structlog

from sandbox.gpu.port import Obj, Resource
from sandbox.remote.rest import Rest, RestError, path_of

WATCH_TIMEOUT_S = 60
RETRY_S = 1.0
_log = structlog.get_logger("sandbox.remote")


class Informer:
    def __init__(
        self, rest: Rest, resource: Resource, namespace: str, on_change: Callable[[Resource], None]
    ) -> None:
        self.resource = resource
        self._rest = rest
        self._namespace = namespace
        self._on_change = on_change
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], Obj] = {}
        self._rv = ""
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._response: Any = None
        self._thread = threading.Thread(target=self._run, name=f"informer-{resource[1]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def stop(self) -> None:
        """Stop following (shutting the watch's socket down unblocks its read); `join` waits."""
        self._stop.set()
        response = self._response
        if response is not None:
            # OSError: the watch thread closed this stream meanwhile, nothing left to unblock.
            with contextlib.suppress(OSError):
                response.shutdown()

    def join(self, timeout: float) -> None:
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)

    def items(self) -> list[Obj]:
        with self._lock:
            pairs = sorted(self._items.items())
        return [obj for _, obj in pairs]

    def get(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            return self._items.get((namespace, name))

    def observe(self, obj: Obj) -> None:
        """Take a newer object the caller just wrote (the watch confirms it later)."""
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        with self._lock:
            old = self._items.get(key)
            if old is None or _newer(obj, old):
                self._items[key] = obj

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._items.pop((namespace, name), None)

    # ------------------------------------------------------------------ list and watch
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._list()
                while not self._stop.is_set() and self._watch():
                    pass
            except RestError as exc:
                if exc.code != 404:
                    _log.debug("informer retrying", resource=self.resource, error=str(exc))
                if exc.code == 404:  # not served (yet): empty, like a resource without objects
                    self._replace([], "")
            except Exception as exc:  # connection dropped, server restarting: relist after a pause
                if self._stop.is_set():
                    return
                _log.debug("informer reconnecting", resource=self.resource, error=str(exc))
            self._stop.wait(RETRY_S)

    def _list(self) -> None:
        reply = self._rest.request("GET", path_of(self.resource, self._namespace))
        items = []
        for item in reply.get("items") or []:
            item.setdefault("apiVersion", reply.get("apiVersion", "v1"))
            item.setdefault("kind", str(reply.get("kind", "")).removesuffix("List"))
            items.append(item)
        self._replace(items, str((reply.get("metadata") or {}).get("resourceVersion", "")))

    def _replace(self, items: list[Obj], rv: str) -> None:
        with self._lock:
            self._items = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in items}
            self._rv = rv
        self._synced.set()
        self._on_change(self.resource)

    def _watch(self) -> bool:
        """Follow one watch; True when it ended normally (resume), False to relist."""
        query = {
            "watch": "true",
            "resourceVersion": self._rv,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_TIMEOUT_S),
        }
        response, lines = self._rest.stream(
            path_of(self.resource, self._namespace), query, WATCH_TIMEOUT_S + 10
        )
        self._response = response
        try:
            for line in lines:
                if self._stop.is_set():
                    return False
                if not line.strip():
                    continue
                event = json.loads(line)
                if not self._apply(event):
                    return False
        finally:
            self._response = None
            response.close()
        return True

    def _apply(self, event: dict[str, Any]) -> bool:
        kind, obj = event.get("type"), event.get("object") or {}
        meta = obj.get("metadata") or {}
        if kind == "ERROR":  # 410 Gone: the resourceVersion is too old, relist
            return False
        with self._lock:
            self._rv = meta.get("resourceVersion", self._rv)
            if kind == "BOOKMARK":
                return True
            key = (meta.get("namespace", ""), meta.get("name", ""))
            old = self._items.get(key)
            if kind == "DELETED":
                self._items.pop(key, None)
            elif old is None or not _newer(old, obj):  # not older than what a write returned
                self._items[key] = obj
        self._on_change(self.resource)
        return True


def _newer(a: Obj, b: Obj) -> bool:
    """Whether `a` was written after `b` (resourceVersions of one resource compare as integers
    on etcd-backed servers; anything else counts as newer)."""
    try:
        return int(a["metadata"]["resourceVersion"]) > int(b["metadata"]["resourceVersion"])
    except (KeyError, ValueError):
        return True
