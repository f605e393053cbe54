"""A `ReportSink` that tells people what a pass changed, as Kubernetes Events on each
changed object (reason from the action, message with the revision and trigger), and that a
revision was rejected as invalid (a Warning Event on the daemon's `subject`, its Lease)."""

from __future__ import annotations

from typing import Protocol

from reconciler.daemon.protocols import ReconcileReport, WorkItem
from schemas.refs import ObjectRef
from schemas.results import Action, ReconcileOutcome

# At most this many Events per pass; a huge change set is summarised by the audit log.
MAX_EVENTS_PER_PASS = 100

_REASONS = {
    Action.CREATED: "Created",
    Action.CONFIGURED: "Configured",
    Action.DELETED: "Pruned",
    Action.CORDONED: "Cordoned",
    Action.EVICTED: "Evicted",
    Action.RELABELLED: "Relabelled",
    Action.UNCORDONED: "Uncordoned",
    Action.ROLLOUT_FAILED: "RolloutFailed",
    Action.FAILED: "ApplyFailed",
}
_WARNINGS = frozenset({Action.ROLLOUT_FAILED, Action.FAILED})
REJECTED_REASON = "RevisionRejected"
# events.k8s.io/v1 caps a note at 1 KiB; the rejection message (a list of findings) keeps to it.
_MAX_MESSAGE = 1024


class EventRecorder(Protocol):
    def record(
        self, ref: ObjectRef, *, reason: str, message: str, revision: str, warning: bool = False
    ) -> bool: ...


class EventsSink:
    """Posts one Event per changed object of every pass, and one per rejected revision
    about `subject` (the object standing for the daemon) when one is given."""

    def __init__(self, recorder: EventRecorder, subject: ObjectRef | None = None) -> None:
        self._recorder = recorder
        self._subject = subject

    def reconciled(self, item: WorkItem, report: ReconcileReport) -> None:
        short = report.revision[:12]
        if report.outcome is ReconcileOutcome.INVALID and self._subject is not None:
            message = f"revision {short} rejected ({item.trigger.value}): {report.error or 'invalid'}"
            self._recorder.record(
                self._subject, reason=REJECTED_REASON, message=message[:_MAX_MESSAGE],
                revision=report.revision, warning=True,
            )
        for entry in report.changes.changed()[:MAX_EVENTS_PER_PASS]:
            reason = _REASONS.get(entry.action)
            if reason is None:
                continue
            message = f"{entry.action.value} by gpuctl at revision {short} ({item.trigger.value})"
            detail = entry.error or entry.message
            if detail:
                message += f": {detail}"
            self._recorder.record(
                entry.ref, reason=reason, message=message,
                revision=report.revision, warning=entry.action in _WARNINGS,
            )
