"""Prometheus metrics of the daemon, in their own registry so that several daemons (tests,
the demo) can live in one process. Names follow the Flux/Argo CD precedents."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from reconciler.daemon.protocols import ReconcileReport, WorkItem
from schemas.results import ReconcileOutcome, Trigger

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_RECONCILE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


class DaemonMetrics:
    """Every metric the daemon exports, with helpers that keep label sets consistent."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reconcile_duration = Histogram(
            "gpuctl_reconcile_duration_seconds", "Duration of one reconcile pass.",
            registry=r, buckets=_RECONCILE_BUCKETS,
        )
        self.reconcile_total = Counter(
            "gpuctl_reconcile_total", "Reconcile passes by result.", ["result"], registry=r
        )
        self.changes_total = Counter(
            "gpuctl_changes_total", "Changes applied, by action and kind.", ["action", "kind"], registry=r
        )
        self.drift_corrections_total = Counter(
            "gpuctl_drift_corrections_total",
            "Objects changed by someone else and put back by gpuctl.", registry=r,
        )
        self.revision_info = Gauge(
            "gpuctl_revision_info", "The revision last reconciled; an invalid one is not (value 1).",
            ["revision"], registry=r,
        )
        self.rollout_nodes = Gauge(
            "gpuctl_rollout_nodes", "Nodes of a pool's rollout by state.", ["pool", "state"], registry=r
        )
        self.git_fetch_duration = Histogram(
            "gpuctl_git_fetch_duration_seconds", "Duration of one fetch of the remote repository.",
            registry=r,
        )
        self.git_fetch_errors_total = Counter(
            "gpuctl_git_fetch_errors_total", "Fetches of the remote repository that failed.", registry=r
        )
        self.git_source_reachable = Gauge(
            "gpuctl_git_source_reachable",
            "1 while the last fetch of the remote repository succeeded, 0 after a failed one "
            "(the last good revision stays applied).", registry=r,
        )
        self.reconcile_ok = Gauge(
            "gpuctl_reconcile_ok",
            "1 while the newest pass succeeded or had nothing to do, 0 after a failed or invalid one "
            "(readiness does not follow it).", registry=r,
        )
        self.leader = Gauge("gpuctl_leader", "1 while this replica holds the lease.", registry=r)
        self.triggers_total = Counter(
            "gpuctl_triggers_total", "Reconcile requests received, by trigger.", ["trigger"], registry=r
        )
        self.webhook_requests_total = Counter(
            "gpuctl_webhook_requests_total", "Webhook deliveries by provider and HTTP status.",
            ["provider", "code"], registry=r,
        )
        self._last_revision: str | None = None
        self._rollout_labels: set[tuple[str, str]] = set()

    def record(self, item: WorkItem, report: ReconcileReport, duration_s: float) -> None:
        """Account for one finished reconcile pass."""
        self.reconcile_duration.observe(duration_s)
        self.reconcile_total.labels(result=report.outcome.value).inc()
        if not report.interrupted:  # an interrupted pass says nothing about the revision
            failed = report.outcome in (ReconcileOutcome.FAILED, ReconcileOutcome.INVALID)
            self.reconcile_ok.set(0 if failed else 1)
        changed = report.changes.changed()
        for entry in changed:
            self.changes_total.labels(action=entry.action.value, kind=entry.ref.kind).inc()
        if item.trigger is Trigger.DRIFT and changed:
            self.drift_corrections_total.inc(len(changed))
        # The revision applied last: a rejected (invalid) revision leaves the last good one.
        if report.outcome is not ReconcileOutcome.INVALID and self._last_revision != report.revision:
            if self._last_revision is not None:
                self.revision_info.remove(self._last_revision)
            self.revision_info.labels(revision=report.revision).set(1)
            self._last_revision = report.revision
        self.set_rollout(report.rollout_nodes)

    def set_rollout(self, pools: Mapping[str, Mapping[str, int]]) -> None:
        """Replace the rollout gauges with `pools` (pool → state → nodes)."""
        labels = {(pool, state) for pool, states in pools.items() for state in states}
        for pool, state in self._rollout_labels - labels:
            self.rollout_nodes.remove(pool, state)
        for pool, states in pools.items():
            for state, count in states.items():
                self.rollout_nodes.labels(pool=pool, state=state).set(count)
        self._rollout_labels = labels

    def exposition(self) -> bytes:
        """The text exposition format served on /metrics."""
        return generate_latest(self.registry)
