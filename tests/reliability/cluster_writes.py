"""What the cluster itself shows was written, for the crash tests on either backend: a
`WriteWatch` lists the resources a test cares about and follows them with watches from the
list's resourceVersion, keeping every version of every object the API server serves, in
order. Reading those versions tells each write gpuctl made apart from the cluster's own
(status updates, heartbeats, the MIG manager's labels): an object created, deleted or given
new content, a Node cordoned, uncordoned, relabelled or (un)tainted, a Pod's deletion begun
by an eviction. The tests compare these counts with the audit log's records."""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.remote.rest import Rest, path_of

Obj = dict[str, Any]
Resource = tuple[str, str]

NODES: Resource = ("", "nodes")
PODS: Resource = ("", "pods")
CONFIGMAPS: Resource = ("", "configmaps")
QUOTAS: Resource = ("", "resourcequotas")
KINDS = {NODES: "Node", PODS: "Pod", CONFIGMAPS: "ConfigMap", QUOTAS: "ResourceQuota"}

MIG_CONFIG = "nvidia.com/mig.config"
WATCH_TIMEOUT_S = 300
# What a write of someone else may change without gpuctl having written the object's content.
_NOT_CONTENT = ("resourceVersion", "managedFields", "generation")


@dataclass
class Version:
    """One watch event of one object: ADDED, MODIFIED or DELETED, and the object then."""

    type: str
    obj: Obj

    @property
    def key(self) -> tuple[str, str]:
        meta = self.obj.get("metadata") or {}
        return str(meta.get("namespace") or ""), str(meta.get("name") or "")


@dataclass
class _Follower:
    resource: Resource
    keep: Any  # (namespace, name) -> bool
    rest: Rest
    versions: list[Version] = field(default_factory=list)
    error: str | None = None
    response: Any = None


class WriteWatch:
    """Every version of the objects of `resources` (cluster-wide) whose name `prefix` starts
    or namespace `prefix` starts, from the moment `start` returns until `stop`."""

    def __init__(self, kubeconfig: Path, prefix: str, resources: Iterable[Resource]) -> None:
        self.prefix = prefix
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._followers = [_Follower(r, self._kept, Rest(kubeconfig)) for r in resources]
        self._threads: list[threading.Thread] = []

    def _kept(self, namespace: str, name: str) -> bool:
        return (namespace or name).startswith(self.prefix)

    def start(self) -> WriteWatch:
        """List each resource, then follow it from the list's resourceVersion (in threads)."""
        for follower in self._followers:
            listed = follower.rest.request("GET", path_of(follower.resource))
            for item in listed.get("items") or []:
                self._add(follower, Version("LISTED", item))
            rv = str((listed.get("metadata") or {}).get("resourceVersion") or "")
            thread = threading.Thread(target=self._follow, args=(follower, rv), daemon=True,
                                      name=f"write-watch-{follower.resource[1]}")
            thread.start()
            self._threads.append(thread)
        return self

    def _add(self, follower: _Follower, version: Version) -> None:
        if self._kept(*version.key):
            with self._lock:
                follower.versions.append(version)

    def _follow(self, follower: _Follower, rv: str) -> None:
        while not self._stop.is_set():
            query = {"watch": "true", "resourceVersion": rv, "allowWatchBookmarks": "true",
                     "timeoutSeconds": str(WATCH_TIMEOUT_S)}
            try:
                path = path_of(follower.resource)
                response, lines = follower.rest.stream(path, query, WATCH_TIMEOUT_S + 10)
            except Exception as exc:  # the test reads it: a missed event would make counts lie
                follower.error = f"watch of {follower.resource} could not start: {exc}"
                return
            follower.response = response
            try:
                for line in lines:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        follower.error = f"watch of {follower.resource} ended: {obj.get('message')}"
                        return
                    rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                    if event.get("type") != "BOOKMARK":
                        self._add(follower, Version(str(event["type"]), obj))
            except Exception as exc:
                if not self._stop.is_set():
                    follower.error = f"watch of {follower.resource} broke: {exc}"
                return
            finally:
                response.close()

    def stop(self) -> None:
        self._stop.set()
        for follower in self._followers:
            if follower.response is not None:
                follower.response.close()
        for thread in self._threads:
            thread.join(timeout=10)
        for follower in self._followers:
            follower.rest.close()

    def history(self, resource: Resource) -> dict[tuple[str, str], list[Version]]:
        """Each object's versions, oldest first; raises if the watch may have missed one."""
        follower = next(f for f in self._followers if f.resource == resource)
        assert follower.error is None, follower.error
        by_object: dict[tuple[str, str], list[Version]] = {}
        with self._lock:
            for version in follower.versions:
                by_object.setdefault(version.key, []).append(version)
        return by_object

    def __enter__(self) -> WriteWatch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ref(resource: Resource, key: tuple[str, str]) -> str:
    namespace, name = key
    return f"{KINDS[resource]}/{namespace}/{name}" if namespace else f"{KINDS[resource]}/{name}"


def _content(obj: Obj) -> Obj:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _NOT_CONTENT}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _managed_by_gpuctl(obj: Obj) -> bool:
    return any(e.get("manager") == "gpuctl" for e in (obj.get("metadata") or {}).get("managedFields") or [])


def object_writes(watch: WriteWatch, resources: Iterable[Resource]) -> Counter[tuple[str, str]]:
    """gpuctl's writes of plain objects the cluster shows, as (object, audit action): each
    object with a `gpuctl` field manager created, given new content (status and bookkeeping
    left out, so the quota controller's status updates do not count), or deleted."""
    writes: Counter[tuple[str, str]] = Counter()
    for resource in resources:
        for key, versions in watch.history(resource).items():
            if not any(_managed_by_gpuctl(v.obj) for v in versions):
                continue
            before: Obj | None = None
            for version in versions:
                if version.type == "ADDED":
                    writes[(_ref(resource, key), "created")] += 1
                elif version.type == "DELETED":
                    writes[(_ref(resource, key), "deleted")] += 1
                elif version.type == "MODIFIED" and before is not None and (
                        _content(version.obj) != _content(before)):
                    writes[(_ref(resource, key), "configured")] += 1
                before = None if version.type == "DELETED" else version.obj
    return writes


def _cordoned(node: Obj) -> bool:
    return bool((node.get("spec") or {}).get("unschedulable"))


def _tainted(node: Obj, key: str) -> bool:
    return any(t.get("key") == key for t in (node.get("spec") or {}).get("taints") or [])


def _mig_config(node: Obj) -> object:
    return ((node.get("metadata") or {}).get("labels") or {}).get(MIG_CONFIG)


def node_writes(watch: WriteWatch, waiting_taint: str) -> Counter[tuple[str, str]]:
    """gpuctl's Node writes the cluster shows, as (object, what): `cordoned`, `uncordoned`,
    `relabelled` (a new `nvidia.com/mig.config`), `tainted` (the rollout's waiting taint
    added or removed); heartbeats and the MIG manager's state labels change none of these."""
    writes: Counter[tuple[str, str]] = Counter()
    for key, versions in watch.history(NODES).items():
        ref = _ref(NODES, key)
        for before, after in itertools.pairwise(versions):
            if after.type != "MODIFIED":
                continue
            old, new = before.obj, after.obj
            if _cordoned(old) != _cordoned(new):
                writes[(ref, "cordoned" if _cordoned(new) else "uncordoned")] += 1
            if _mig_config(old) != _mig_config(new):
                writes[(ref, "relabelled")] += 1
            if _tainted(old, waiting_taint) != _tainted(new, waiting_taint):
                writes[(ref, "tainted")] += 1
    return writes


def evictions(watch: WriteWatch) -> Counter[str]:
    """Pods whose deletion began while watched (an eviction sets the deletionTimestamp, or
    removes the pod at once), each counted once per deletion."""
    begun: Counter[str] = Counter()
    for key, versions in watch.history(PODS).items():
        deleting = False
        for version in versions:
            marked = bool((version.obj.get("metadata") or {}).get("deletionTimestamp"))
            if version.type != "LISTED" and not deleting and (marked or version.type == "DELETED"):
                begun[_ref(PODS, key)] += 1
            deleting = marked and version.type != "DELETED"
    return begun
