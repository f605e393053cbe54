"""In-memory object storage with one global resourceVersion and an ordered event log.

Stored objects are never mutated after they are written: every write stores a new dict,
so readers (LIST serialisation, watch streams) can use them without copying. Writes are
serialised by one lock, which also orders the event log by resourceVersion.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

GroupResource = tuple[str, str]
Key = tuple[str, str]  # (namespace or "", name)


@dataclass(frozen=True)
class Event:
    """One change: ADDED, MODIFIED or DELETED, at `rv`; `old` is the previous object."""

    rv: int
    type: str
    resource: GroupResource
    obj: dict[str, Any]
    old: dict[str, Any] | None
    encoded: bytes


def encode(obj: object) -> bytes:
    """Compact JSON, as the API server sends it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Store:
    """Objects by (group, plural) and (namespace, name), plus a bounded event history."""

    def __init__(self, history: int = 100_000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[GroupResource, dict[Key, dict[str, Any]]] = {}
        self._encoded: dict[tuple[GroupResource, Key], bytes] = {}
        self._rv = 1
        self._history = history
        self._events: list[Event] = []
        self._closed = False
        self._listeners: list[Callable[[Event], None]] = []

    # ------------------------------------------------------------------ reads
    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def oldest_watchable_rv(self) -> int:
        """The oldest resourceVersion a watch may start from (older ones get 410 Gone)."""
        with self.lock:
            return self._events[0].rv - 1 if self._events else self._rv

    def get(self, resource: GroupResource, key: Key) -> dict[str, Any] | None:
        return self._objects.get(resource, {}).get(key)

    def encoded(self, resource: GroupResource, obj: dict[str, Any]) -> bytes:
        """The JSON of a stored object (encoded once, when it was written)."""
        meta = obj["metadata"]
        cached = self._encoded.get((resource, (meta.get("namespace", ""), meta["name"])))
        stored = self.get(resource, (meta.get("namespace", ""), meta["name"]))
        if cached is not None and stored is obj:
            return cached
        return encode(obj)

    def encoded_list_item(self, resource: GroupResource, obj: dict[str, Any]) -> bytes:
        """The JSON of an object as an item of a built-in kind's LIST: without apiVersion and
        kind, as the API server writes list items (custom resources keep them)."""
        data = self.encoded(resource, obj)
        prefix = (
            b'{"apiVersion":' + encode(obj.get("apiVersion")) + b',"kind":' + encode(obj.get("kind")) + b","
        )
        return b"{" + data[len(prefix) :] if data.startswith(prefix) else data

    def list_objects(
        self, resource: GroupResource, namespace: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Objects sorted by (namespace, name), and the resourceVersion they were read at."""
        with self.lock:
            bucket = self._objects.get(resource, {})
            if namespace:
                items = [(k, v) for k, v in bucket.items() if k[0] == namespace]
            else:
                items = list(bucket.items())
            rv = self._rv
        items.sort(key=lambda kv: kv[0])
        return [v for _, v in items], rv

    def count(self, resource: GroupResource, namespace: str | None = None) -> int:
        bucket = self._objects.get(resource, {})
        if namespace is None:
            return len(bucket)
        return sum(1 for k in bucket if k[0] == namespace)

    # ------------------------------------------------------------------ writes
    def next_rv(self) -> int:
        """Reserve the next resourceVersion (call with the lock held)."""
        self._rv += 1
        return self._rv

    def put(self, resource: GroupResource, obj: dict[str, Any], event_type: str) -> dict[str, Any]:
        """Store `obj` (its metadata.resourceVersion is set here) and record the event."""
        if "apiVersion" in obj and "kind" in obj:  # TypeMeta first: list items can drop it cheaply
            obj = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], **obj}
        with self.lock:
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            rv = self.next_rv()
            meta["resourceVersion"] = str(rv)
            bucket = self._objects.setdefault(resource, {})
            old = bucket.get(key)
            bucket[key] = obj
            data = encode(obj)
            self._encoded[(resource, key)] = data
            self._record(Event(rv, event_type, resource, obj, old, data))
            return obj

    def remove(self, resource: GroupResource, key: Key) -> dict[str, Any] | None:
        """Delete an object; the DELETED event carries a new resourceVersion."""
        with self.lock:
            old = self._objects.get(resource, {}).pop(key, None)
            if old is None:
                return None
            self._encoded.pop((resource, key), None)
            rv = self.next_rv()
            gone = {**old, "metadata": {**old["metadata"], "resourceVersion": str(rv)}}
            self._record(Event(rv, "DELETED", resource, gone, old, encode(gone)))
            return gone

    def drop_resource(self, resource: GroupResource) -> list[dict[str, Any]]:
        """Delete every object of a type (a CRD was deleted)."""
        with self.lock:
            keys = list(self._objects.get(resource, {}))
            removed = [self.remove(resource, key) for key in keys]
            self._objects.pop(resource, None)
            return [obj for obj in removed if obj is not None]

    def _record(self, event: Event) -> None:
        self._events.append(event)
        if len(self._events) > 2 * self._history:
            del self._events[: len(self._events) - self._history]
        for listener in self._listeners:
            listener(event)
        self.changed.notify_all()

    def compact(self) -> None:
        """Forget the event history, like an etcd compaction (watches from older versions get 410)."""
        with self.lock:
            self._events.clear()

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` for every event, with the store lock held (keep it quick)."""
        with self.lock:
            self._listeners.append(listener)

    # ------------------------------------------------------------------ watch support
    def events_after(self, rv: int) -> list[Event]:
        with self.lock:
            start = bisect.bisect_right(self._events, rv, key=lambda e: e.rv)
            return self._events[start:]

    def wait_for_change(self, after_rv: int, timeout: float) -> bool:
        """Block until an event newer than `after_rv` exists; False on timeout or close."""
        with self.changed:
            if self._rv > after_rv:
                return True
            self.changed.wait(timeout)
            return self._rv > after_rv and not self._closed

    def close(self) -> None:
        with self.changed:
            self._closed = True
            self.changed.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def all_items(self) -> Iterator[tuple[GroupResource, dict[str, Any]]]:
        with self.lock:
            snapshot = [(r, list(b.values())) for r, b in self._objects.items()]
        for resource, objs in snapshot:
            for obj in objs:
                yield resource, obj
