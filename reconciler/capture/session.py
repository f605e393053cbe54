"""`CaptureSession`: the capture as the daemon runs it: cluster-wide list/watches of Pods, Nodes
and Kueue Workloads (when Kueue's CRD is served; looked for again every `kueue_retry_s`) feeding
a `CaptureRecorder` that writes the `CaptureStore`. Started and stopped with the daemon (see
`gpuctl.assembly`); `default_capture_db` puts the store next to the audit log."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.capture.metrics import CaptureMetrics
from reconciler.capture.recorder import CaptureRecorder
from reconciler.capture.store import CaptureStore, RetentionPolicy
from reconciler.capture.workloads import KUEUE_API_VERSION
from reconciler.cluster.pod_watch import capture_watchers

CAPTURE_DB_NAME = "gpuctl-capture.db"


def default_capture_db(audit_db: Path) -> Path:
    """The capture store's file: beside the audit log, on the same volume."""
    return audit_db.parent / CAPTURE_DB_NAME


class CaptureSession:
    """Owns the store, the recorder and the two watchers."""

    def __init__(
        self,
        api: Any,  # a kubernetes ApiClient (reconciler.cluster.connection.api_client_for)
        db: Path,
        retention: RetentionPolicy,
        *,
        clock: Callable[[], float] = time.time,
        prune_every_s: float = 300.0,
        kueue_retry_s: float = 300.0,
    ) -> None:
        self.store = CaptureStore(db, retention)
        self.recorder = CaptureRecorder(self.store, clock=clock, prune_every_s=prune_every_s)
        self._watchers = capture_watchers(api, self.recorder, KUEUE_API_VERSION, kueue_retry_s)

    def attach_metrics(self, metrics: CaptureMetrics) -> None:
        """Export the capture's metrics (the daemon's registry exists only after the daemon)."""
        self.recorder.metrics = metrics

    def start(self) -> None:
        for watcher in self._watchers:  # nodes first, so that pods find their pool
            watcher.start()
        self._watchers[0].synced.wait(10.0)

    def wait_synced(self, timeout: float, *, kueue: bool = False) -> bool:
        """Nodes and Pods listed (and Kueue Workloads, when asked: only if the CRD is served)."""
        watchers = [w for w in self._watchers if kueue or w.kind != "Workload"]
        return all(w.synced.wait(timeout) for w in watchers)

    def stop(self) -> None:
        for watcher in self._watchers:
            watcher.stop()
        self.store.close()
