"""`CaptureRecorder`: turns the Pod, Node and Kueue Workload list/watch streams into
capture-store writes and metrics. Nodes are only remembered by their labels, to name the pool
(the desired state's GPUNodePool whose selector matches) a pod ran in. After every Pod relist,
pods the store still thinks are pending or running but that no longer exist are recorded as
Deleted, so nothing stays open forever across a daemon restart. Retention runs at most every
`prune_every_s`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from reconciler.capture.metrics import CaptureMetrics
from reconciler.capture.pods import Outcome, PodRecord, pod_record
from reconciler.capture.store import CaptureStore
from reconciler.capture.workloads import workload_record
from schemas.kinds import GPUNodePool

log = structlog.get_logger("gpuctl.capture")


class CaptureRecorder:
    """The consumer of the Pod, Node and Workload `ListWatcher`s (`reconciler.cluster.pod_watch`)."""

    def __init__(
        self,
        store: CaptureStore,
        metrics: CaptureMetrics | None = None,
        *,
        clock: Callable[[], float] = time.time,
        prune_every_s: float = 300.0,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self._clock = clock
        self._prune_every_s = prune_every_s
        self._last_prune = float("-inf")
        self._lock = threading.Lock()
        self._node_labels: dict[str, dict[str, str]] = {}
        self._pools: list[GPUNodePool] = []
        self._running: dict[str, tuple[str, str, int]] = {}  # uid → (pool, resource, devices)
        self._open: set[str] = set()  # pods seen pending or running by this process
        self._waited: set[str] = set()  # ... whose wait was observed

    def set_pools(self, pools: Sequence[GPUNodePool]) -> None:
        """The pools of the last loaded revision (called by the daemon's runner). Pods recorded
        before any pool was known (the first list runs before the first pass) get theirs now."""
        with self._lock:
            self._pools = list(pools)
            by_node = {node: self.pool_of(node) for node in self._node_labels}
        self.store.assign_pools({node: pool for node, pool in by_node.items() if pool})

    def pool_of(self, node: str) -> str:
        labels = self._node_labels.get(node)
        if not node or labels is None:
            return ""
        for pool in self._pools:
            if pool.spec.node_selector.matches(labels):
                return pool.metadata.name
        return ""

    # -- ListWatchConsumer ---------------------------------------------------------------

    def on_list(self, kind: str, items: list[dict[str, Any]]) -> None:
        if kind == "Workload":
            self.store.record_workloads(w for w in map(workload_record, items) if w is not None)
            return
        if kind == "Node":
            with self._lock:
                self._node_labels = {_name(n): _labels(n) for n in items}
            return
        records = [r for r in map(pod_record, items) if r is not None]
        listed = {r.uid for r in records}
        with self._lock:
            self._running.clear()
            self._open &= listed  # pods gone while not watched end below, without metrics
            self._waited &= listed
            written = self._write(records)
        gone = self.store.unfinished_uids() - listed
        if gone:
            self.store.mark_deleted(gone, self._clock())
            log.info("pods gone while not watched", pods=len(gone))
        log.info("pods listed", gpu_pods=written)
        self._maybe_prune(force=True)

    def on_event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        if kind == "Workload":  # a deleted Workload still dates its job's submission: keep it
            workload = workload_record(obj)
            if workload is not None:
                self.store.record_workloads([workload])
            return
        if kind == "Node":
            with self._lock:
                if event_type == "DELETED":
                    self._node_labels.pop(_name(obj), None)
                else:
                    self._node_labels[_name(obj)] = _labels(obj)
            return
        record = pod_record(obj)
        if record is None:
            return
        if event_type == "DELETED":
            record = record.deleted(self._clock())
        with self._lock:
            self._write([record])
        self._maybe_prune()

    # -- internals -----------------------------------------------------------------------

    def _write(self, records: list[PodRecord]) -> int:
        """Store `records` and update the metrics; the caller holds the lock."""
        pairs = [(r, self.pool_of(r.node)) for r in records]
        written = self.store.record(pairs)
        if self.metrics is None:
            return written
        for record, pool in pairs:
            self._account(record, pool, self.metrics)
        allocated: dict[tuple[str, str], int] = {}
        for pool, resource, devices in self._running.values():
            key = (pool or "unknown", resource)
            allocated[key] = allocated.get(key, 0) + devices
        self.metrics.set_allocated(allocated)
        return written

    def _account(self, record: PodRecord, pool: str, metrics: CaptureMetrics) -> None:
        """Metrics of one pod: its wait once it starts, its end once, the devices it holds.
        Pods seen only after they ended (history at a relist) are stored, not counted."""
        ended = record.outcome in Outcome.ENDED
        if record.outcome == Outcome.RUNNING:
            self._running[record.uid] = (pool, record.resource, record.per_pod)
        else:
            self._running.pop(record.uid, None)
        if not ended:
            self._open.add(record.uid)
        elif record.uid not in self._open:
            return
        if record.started is not None and record.uid not in self._waited:
            self._waited.add(record.uid)
            queue = record.queue or record.namespace
            metrics.pod_wait.labels(team=record.namespace, queue=queue).observe(
                max(0.0, record.started - record.created)
            )
        if ended:
            metrics.pods_ended.labels(team=record.namespace, outcome=record.outcome).inc()
            self._open.discard(record.uid)
            self._waited.discard(record.uid)

    def _maybe_prune(self, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._last_prune < self._prune_every_s:
            return
        self._last_prune = now
        removed = self.store.prune(now)
        if self.metrics is not None:
            pods, jobs = self.store.counts()
            self.metrics.store_pods.set(pods)
            self.metrics.store_jobs.set(jobs)
            self.metrics.pruned.inc(removed)


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in ((obj.get("metadata") or {}).get("labels") or {}).items()}
