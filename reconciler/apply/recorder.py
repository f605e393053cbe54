"""`ChangeRecorder`: collects a reconcile's ChangeSet and hands every entry that follows a
cluster write to the audit sink at once, before the next write happens.

Write-ahead: right before a cluster write, its caller announces it with `intend(entry, check,
point)`; the audit log (when it keeps intents, `IntentLog`) stores the intent durably. The next
`record` of the same object is that write's outcome and names the intent; a write that turns
out not to happen is settled with `abandon`. An intent left open by a crash (or by a write that
raised) is settled from the cluster before the next pass (`reconciler.apply.intents`).

Crash points (`reconciler.crashpoints`) at every write kind: `<point>-intent` after the intent
is stored (the write not yet sent), `<point>-write` after the write (its outcome not yet
stored), `<point>-recorded` after the outcome.
"""

from __future__ import annotations

from typing import Any

from reconciler.crashpoints import crash_point
from reconciler.protocols import AuditSink, IntentLog
from schemas.refs import ObjectRef
from schemas.results import ChangeEntry, ChangeSet

_NOT_AUDITED = ("unchanged", "skipped")


class ChangeRecorder:
    """Entry point for every change of one reconcile (audit is None for dry runs)."""

    def __init__(self, audit: AuditSink | None = None, reconcile_id: str = "") -> None:
        self.audit = audit
        self.reconcile_id = reconcile_id
        self.changes = ChangeSet()
        # The announced write of each object whose outcome is not recorded yet: (intent id, point).
        self._pending: dict[ObjectRef, tuple[str | None, str]] = {}
        # Announced writes the server refused for now (an eviction a PodDisruptionBudget blocks):
        # tried again under the same intent, and void when the pass ends without them.
        self._refused: set[ObjectRef] = set()

    @property
    def intents(self) -> IntentLog | None:
        """The audit sink, when it keeps write-ahead intents."""
        return self.audit if isinstance(self.audit, IntentLog) else None

    def intend(self, entry: ChangeEntry, check: dict[str, Any], point: str) -> None:
        """Announce the write `entry` describes, before making it; `check` tells afterwards
        whether it landed (`reconciler.apply.intents`), `point` names its crash points."""
        if entry.ref in self._refused:  # the same write tried again: its intent stands
            self._refused.discard(entry.ref)
            crash_point(f"{point}-intent")
            return
        log = self.intents
        intent_id = log.intent(self.reconcile_id, entry, check) if log is not None else None
        self._pending[entry.ref] = (intent_id, point)
        crash_point(f"{point}-intent")

    def record(self, entry: ChangeEntry) -> None:
        """Add `entry`; when it follows a write, the audit sink receives it immediately (as
        the outcome of that write's intent, if one was announced)."""
        self.changes.add(entry)
        self._refused.discard(entry.ref)
        intent_id, point = self._pending.pop(entry.ref, (None, ""))
        if point:
            crash_point(f"{point}-write")
        if self.audit is not None and entry.action.value not in _NOT_AUDITED:
            log = self.intents
            if log is not None and intent_id is not None:
                log.change(self.reconcile_id, entry, intent_id=intent_id)
            else:
                self.audit.change(self.reconcile_id, entry)
        if point:
            crash_point(f"{point}-recorded")

    def refused(self, ref: ObjectRef) -> None:
        """The server refused the announced write of `ref` for now; a later `intend` of it
        reuses the intent, and `end` voids it if it is never made (no intent per retry)."""
        if ref in self._pending:
            self._refused.add(ref)

    def end(self, reason: str = "refused until the pass ended") -> None:
        """The pass is over: writes refused and not tried again since are recorded as not made."""
        for ref in sorted(self._refused, key=str):
            self.abandon(ref, reason)

    def abandon(self, ref: ObjectRef, reason: str) -> None:
        """The announced write of `ref` was not made after all (e.g. an eviction refused)."""
        self._refused.discard(ref)
        intent_id, _ = self._pending.pop(ref, (None, ""))
        log = self.intents
        if log is not None and intent_id is not None:
            log.void(self.reconcile_id, intent_id, reason)
