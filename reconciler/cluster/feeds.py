"""Watch events of a few streams on one queue, for a consumer that must see every write (the
demo's live rollout table: cordon, eviction, relabel, uncordon, each over in milliseconds).
One thread per stream LISTs for a resourceVersion, then WATCHes; a stream that breaks is
restarted after a short pause, so a consumer should also re-LIST now and then to cover gaps."""

from __future__ import annotations

import queue
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from kubernetes import watch
from kubernetes.dynamic import DynamicClient

from reconciler.cluster.connection import ConnectionSpec, api_client_for

_WATCH_TIMEOUT_S = 10
_RETRY_S = 0.2

Event = tuple[str, str, dict[str, Any]]
"""(kind, event type, object): ("Node", "MODIFIED", {...})."""


@dataclass(frozen=True)
class Stream:
    """The objects of one kind to watch: `query` holds `namespace`, `label_selector`, …"""

    api_version: str
    kind: str
    query: dict[str, str] = field(default_factory=dict)


class WatchFeed:
    """Events of `streams`, from when each stream's first LIST answered until closed."""

    def __init__(self, spec: ConnectionSpec, streams: Sequence[Stream]) -> None:
        self._api = api_client_for(spec)
        # A private discovery cache: the default file is shared by every client on the host.
        self._cache_dir = tempfile.TemporaryDirectory(prefix="gpuctl-feed-discovery-")
        cache_file = str(Path(self._cache_dir.name) / "discovery.json")
        self._dynamic = DynamicClient(self._api, cache_file=cache_file)
        self._events: queue.Queue[Event] = queue.Queue()
        self._stop = threading.Event()
        self._watchers: list[watch.Watch] = []
        self._lock = threading.Lock()
        self._listed = threading.Semaphore(0)  # released once per stream after its first LIST
        self._streams = len(streams)
        self._threads = [
            threading.Thread(target=self._follow, args=(stream,), name=f"gpuctl-feed-{stream.kind}",
                             daemon=True)
            for stream in streams
        ]
        for thread in self._threads:
            thread.start()

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether every stream had its first LIST answered within `timeout_s`: from then
        on, no write to the watched objects is missed."""
        deadline = time.monotonic() + timeout_s
        for _ in range(self._streams):
            if not self._listed.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return False
        self._streams = 0
        return True

    def take(self) -> list[Event]:
        """Every event received since the last call, in arrival order (never blocks)."""
        taken: list[Event] = []
        while True:
            try:
                taken.append(self._events.get_nowait())
            except queue.Empty:
                return taken

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            for watcher in self._watchers:
                watcher.stop()
        self._api.close()
        self._cache_dir.cleanup()

    def __enter__(self) -> WatchFeed:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _follow(self, stream: Stream) -> None:
        query, kind = stream.query, stream.kind
        first = True
        while not self._stop.is_set():
            try:
                resource = self._dynamic.resources.get(api_version=stream.api_version, kind=kind)
                version = resource.get(**query)["metadata"]["resourceVersion"]
                if first:
                    first = False
                    self._listed.release()
                watcher = watch.Watch()
                with self._lock:
                    self._watchers.append(watcher)
                for event in watcher.stream(resource.get, resource_version=version, serialize=False,
                                            timeout_seconds=_WATCH_TIMEOUT_S, **query):
                    obj = event.get("raw_object")
                    if isinstance(obj, dict) and event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        self._events.put((kind, str(event["type"]), obj))
            except Exception:  # a broken or closed stream: restart it unless closing
                if self._stop.is_set():
                    return
            self._stop.wait(_RETRY_S)
