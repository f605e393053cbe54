"""The reconcile loop: the one worker that drains the work queue.

Called by `daemon.py` in its own thread; calls the `ReconcileRunner` (the engine's pass).
For each item it checks leadership (followers never write), runs the pass with a stop
check (newer revision waiting, leadership lost, shutdown), records metrics and status,
and schedules a back-off retry for retryable failures. Shutdown waits for the pass in
progress to return, which the engine does at its next stop check (after the current write).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import structlog

from reconciler.daemon.backoff import Backoff
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.protocols import Leadership, ReconcileReport, ReconcileRunner, ReportSink, WorkItem
from reconciler.daemon.workqueue import QueueClosed, WorkQueue
from schemas.results import ChangeSet, ReconcileOutcome

log = structlog.get_logger("gpuctl.daemon.loop")


class ReconcileLoop:
    """Takes work from the queue and runs one reconcile at a time."""

    def __init__(
        self,
        queue: WorkQueue,
        runner: ReconcileRunner,
        *,
        leadership: Leadership,
        metrics: DaemonMetrics,
        backoff: Backoff,
        sinks: Sequence[ReportSink] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._queue = queue
        self._runner = runner
        self._leadership = leadership
        self._metrics = metrics
        self._backoff = backoff
        self._sinks = list(sinks)
        self._clock = clock
        self._stopping = threading.Event()
        self.attempted = threading.Event()  # set after the first reconcile attempt
        # True while the newest pass failed with a retryable error (cluster or repository
        # unreachable, API errors): shown on /status (`reconcile_failing`), not on /readyz.
        self.failing = False
        self.skipped_not_leader = 0

    def stop(self) -> None:
        """Ask the pass in progress to stop at its next check and the loop to exit."""
        self._stopping.set()
        self._queue.close()

    def run_forever(self) -> None:
        """Process items until `stop()`; never raises for a failing pass."""
        while not self._stopping.is_set():
            try:
                item = self._queue.take()
            except QueueClosed:
                return
            if item is not None:
                self.process(item)

    def process(self, item: WorkItem) -> ReconcileReport | None:
        """Run one item; None when this replica is not the leader and so did nothing."""
        if not self._leadership.is_leader():
            self.skipped_not_leader += 1
            log.debug("not leader, skipping", revision=item.revision, trigger=item.trigger.value)
            return None
        bound = log.bind(revision=item.revision, trigger=item.trigger.value, attempt=item.attempt)
        bound.info("reconcile started")
        started = self._clock()
        report = self._run_guarded(item)
        duration = self._clock() - started
        failed = report.outcome is ReconcileOutcome.FAILED
        self.failing = failed and report.retryable and not report.interrupted
        self.attempted.set()
        self._metrics.record(item, report, duration)
        for sink in self._sinks:
            try:
                sink.reconciled(item, report)
            except Exception:
                bound.exception("report sink failed", sink=type(sink).__name__)
        changed = len(report.changes.changed())
        if report.outcome is ReconcileOutcome.FAILED and report.retryable and not report.interrupted:
            delay = self._backoff.delay(item.attempt + 1)
            self._queue.retry_later(item, delay)
            bound.warning("reconcile failed, will retry", error=report.error, retry_in_s=delay)
        else:
            bound.info(
                "reconcile finished", result=report.outcome.value, changed=changed,
                interrupted=report.interrupted, error=report.error, duration_s=round(duration, 3),
            )
        return report

    def _should_stop(self, item: WorkItem) -> bool:
        return (
            self._stopping.is_set()
            or not self._leadership.is_leader()
            or self._queue.has_newer_than(item.revision)
        )

    def _may_write(self) -> bool:
        return not self._stopping.is_set() and self._leadership.is_leader()

    def _run_guarded(self, item: WorkItem) -> ReconcileReport:
        """The outer guard: whatever the pass does, a report comes back."""
        try:
            return self._runner.reconcile(item, lambda: self._should_stop(item), self._may_write)
        except Exception as exc:  # the guard must outlive any bug in a pass
            log.exception("reconcile raised", revision=item.revision)
            return ReconcileReport(
                revision=item.revision, outcome=ReconcileOutcome.FAILED, changes=ChangeSet(),
                error=f"{type(exc).__name__}: {exc}", retryable=True,
            )
