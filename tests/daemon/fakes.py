"""Small fakes for the daemon's seams: a scripted reconcile runner and an in-memory Lease
with resourceVersion semantics (the real Lease store is tested against the sandbox)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from reconciler.daemon.protocols import ReconcileReport, StopCheck, WorkItem, WriteCheck
from reconciler.leases import LeaseConflict, LeaseRecord
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry, ChangeSet, ReconcileOutcome


def changes(*kinds: str) -> ChangeSet:
    """A change set with one 'configured' entry per kind."""
    entries = [ChangeEntry(ObjectRef("", k, "ns", f"{k.lower()}-1"), Action.CONFIGURED) for k in kinds]
    return ChangeSet(entries)


@dataclass
class ScriptedRunner:
    """Records every item; `script(item, should_stop)` decides each report (default: success)."""

    script: Callable[[WorkItem, StopCheck], ReconcileReport] | None = None
    items: list[WorkItem] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def reconcile(
        self, item: WorkItem, should_stop: StopCheck, may_write: WriteCheck = lambda: True
    ) -> ReconcileReport:
        self.items.append(item)
        try:
            if self.script is not None:
                return self.script(item, should_stop)
            return ReconcileReport(item.revision, ReconcileOutcome.SUCCEEDED)
        finally:
            self.done.set()


class MemoryLeaseStore:
    """One Lease in memory; updates need the current version, like the API server."""

    def __init__(self) -> None:
        self._record: LeaseRecord | None = None
        self._version = 0
        self._lock = threading.Lock()

    def get(self) -> LeaseRecord | None:
        with self._lock:
            return self._record

    def create(self, record: LeaseRecord) -> LeaseRecord:
        with self._lock:
            if self._record is not None:
                raise LeaseConflict("exists")
            return self._store(record)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        with self._lock:
            if self._record is None or record.version != self._record.version:
                raise LeaseConflict("stale version")
            return self._store(record)

    def _store(self, record: LeaseRecord) -> LeaseRecord:
        self._version += 1
        self._record = replace(record, version=str(self._version))
        return self._record
