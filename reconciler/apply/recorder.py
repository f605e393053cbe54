"""`ChangeRecorder`: collects a reconcile's ChangeSet and hands every entry that follows a
cluster write to the audit sink at once, before the next write happens."""

from __future__ import annotations

from reconciler.protocols import AuditSink
from schemas.results import ChangeEntry, ChangeSet


class ChangeRecorder:
    """Entry point for every change of one reconcile (audit is None for dry runs)."""

    def __init__(self, audit: AuditSink | None = None, reconcile_id: str = "") -> None:
        self.audit = audit
        self.reconcile_id = reconcile_id
        self.changes = ChangeSet()

    def record(self, entry: ChangeEntry) -> None:
        """Add `entry`; when it follows a write, the audit sink receives it immediately."""
        self.changes.add(entry)
        if self.audit is not None and entry.action.value not in ("unchanged", "skipped"):
            self.audit.change(self.reconcile_id, entry)
