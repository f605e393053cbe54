"""An independent observer of one node for the relabel-race test: its own API connection
and watches (not gpuctl's lists) record every interval during which a GPU pod was bound to
the node, and every change of the node's `nvidia.com/mig.config` label, each at the
resourceVersion of the watch event that showed it.

Ordering is by resourceVersion: on the real API server it is the etcd revision, and on the
sandbox its store's counter; both rise across all kinds, so a relabel at revision r happened
while a pod was bound iff bound_from < r < bound_until. (Kubernetes calls resourceVersions
opaque; this test knows both servers it runs on.) Wall-clock times of event arrival would not
do: each watch delivers late by its own amount."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch

from reconciler.rollout.pods import uses_gpu
from reconciler.rollout.targets import MIG_CONFIG

_FINISHED = {"Succeeded", "Failed"}
WATCH_WINDOW_S = 2  # each watch request ends after this; the next resumes from the last revision


@dataclass
class Bound:
    """A GPU pod bound to the node from revision `since` until `until` (None: still bound)."""

    pod: str
    since: int
    until: int | None = None

    def holds(self, revision: int) -> bool:
        return self.since < revision and (self.until is None or revision < self.until)


@dataclass(frozen=True)
class Relabel:
    revision: int
    value: str | None


class NodeObserver:
    """Watches the pods bound to `node` and the node itself until `stop()`."""

    def __init__(self, api: k8s.ApiClient, node: str) -> None:
        self.node = node
        self._core = k8s.CoreV1Api(api)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.intervals: dict[str, Bound] = {}  # by pod uid
        self.relabels: list[Relabel] = []
        self.errors: list[str] = []
        self.node_revision = 0
        self._label: str | None = None
        pods = self._core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}")
        for pod in pods.items:  # bound before the observer started: since revision 0
            self._pod_event("ADDED", self._core.api_client.sanitize_for_serialization(pod), since=0)
        live = self._core.read_node(node)
        self._label = (live.metadata.labels or {}).get(MIG_CONFIG)
        self.node_revision = int(live.metadata.resource_version)
        follow_pods = (self._pods_stream, pods.metadata.resource_version, self._pod_event)
        follow_node = (self._node_stream, live.metadata.resource_version, self._on_node)
        self._threads = [
            threading.Thread(target=self._follow, args=follow_pods, name="observe-pods", daemon=True),
            threading.Thread(target=self._follow, args=follow_node, name="observe-node", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pods_stream(self, revision: str, w: watch.Watch) -> Any:
        return w.stream(self._core.list_pod_for_all_namespaces, field_selector=f"spec.nodeName={self.node}",
                        resource_version=revision, timeout_seconds=WATCH_WINDOW_S)  # fmt: skip

    def _node_stream(self, revision: str, w: watch.Watch) -> Any:
        return w.stream(self._core.list_node, field_selector=f"metadata.name={self.node}",
                        resource_version=revision, timeout_seconds=WATCH_WINDOW_S)  # fmt: skip

    def _follow(self, open_stream: Any, revision: str, handle: Any) -> None:
        serialize = self._core.api_client.sanitize_for_serialization
        while not self._stopping.is_set():
            w = watch.Watch()
            try:
                for event in open_stream(revision, w):
                    obj = serialize(event["object"])
                    if event["type"] == "ERROR":  # 410 Gone: events were lost, the record is void
                        self.errors.append(f"watch error: {obj}")
                        return
                    revision = obj["metadata"]["resourceVersion"]
                    handle(str(event["type"]), obj)
                    if self._stopping.is_set():
                        break
            except Exception as exc:  # recorded; the test asserts there were none
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return
            finally:
                w.stop()

    def _pod_event(self, kind: str, pod: dict[str, Any], since: int | None = None) -> None:
        if not uses_gpu(pod):
            return
        meta = pod["metadata"]
        uid, revision = str(meta["uid"]), int(meta["resourceVersion"])
        finished = (pod.get("status") or {}).get("phase") in _FINISHED
        with self._lock:
            bound = self.intervals.get(uid)
            if bound is None and kind != "DELETED" and not finished:
                self.intervals[uid] = Bound(str(meta["name"]), revision if since is None else since)
            elif bound is not None and bound.until is None and (kind == "DELETED" or finished):
                bound.until = revision

    def _on_node(self, kind: str, node: dict[str, Any]) -> None:
        value = ((node.get("metadata") or {}).get("labels") or {}).get(MIG_CONFIG)
        revision = int(node["metadata"]["resourceVersion"])
        with self._lock:
            self.node_revision = revision
            if value != self._label:
                self.relabels.append(Relabel(revision, value))
                self._label = value

    def still_bound(self) -> set[str]:
        """Names of the pods this observer believes are bound now."""
        with self._lock:
            return {b.pod for b in self.intervals.values() if b.until is None}

    def busy_relabels(self) -> list[tuple[Relabel, list[Bound]]]:
        """Each relabel that happened while a GPU pod was bound, with those pods' intervals."""
        with self._lock:
            found = [(r, [b for b in self.intervals.values() if b.holds(r.revision)]) for r in self.relabels]
        return [(r, held) for r, held in found if held]

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(WATCH_WINDOW_S + 5)
