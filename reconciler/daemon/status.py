"""The daemon's recent history for people: the last reconciles (revision, trigger, result,
changes, error), served as JSON on /status and printed by `gpuctl status`."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.daemon.protocols import ReconcileReport, WorkItem

HISTORY_LENGTH = 10


@dataclass(frozen=True)
class ReconcileRecord:
    finished_at: str
    revision: str
    trigger: str
    result: str
    changed: int
    attempt: int
    error: str | None
    interrupted: bool


class StatusBoard:
    """A `ReportSink` keeping the last `HISTORY_LENGTH` reconciles, newest first."""

    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self._records: deque[ReconcileRecord] = deque(maxlen=length)
        self._lock = threading.Lock()

    def reconciled(self, item: WorkItem, report: ReconcileReport) -> None:
        record = ReconcileRecord(
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            revision=report.revision,
            trigger=item.trigger.value,
            result=report.outcome.value,
            changed=len(report.changes.changed()),
            attempt=item.attempt,
            error=report.error,
            interrupted=report.interrupted,
        )
        with self._lock:
            self._records.appendleft(record)

    def snapshot(self, **extra: Any) -> dict[str, Any]:
        """JSON-ready status: `last` (newest record or None), `history`, plus `extra` fields."""
        with self._lock:
            history = [asdict(r) for r in self._records]
        return {"last": history[0] if history else None, "history": history, **extra}
