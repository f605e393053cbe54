"""Shared fixtures for the audit log tests: a log in a temp dir, a fixed clock, and a helper
that records realistic reconciles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit_testkit import RecordReconcile, SteppingClock, node_change

from reconciler.audit import SqliteAuditLog
from schemas.results import ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def audit_log(db_path: Path, clock: SteppingClock) -> Iterator[SqliteAuditLog]:
    log = SqliteAuditLog(db_path, clock=clock)
    yield log
    log.close()


@pytest.fixture
def record_reconcile(audit_log: SqliteAuditLog) -> RecordReconcile:
    """Record one whole reconcile (begin, `changes`, end) and return its id."""

    def record(
        sha: str = "a1b2c3d4e5f6",
        changes: list[ChangeEntry] | None = None,
        outcome: ReconcileOutcome = ReconcileOutcome.SUCCEEDED,
        error: str | None = None,
    ) -> str:
        reconcile_id = audit_log.begin(
            RevisionInfo(sha, "Ann Operator <ann@example.com>", "Resize MIG"), Trigger.COMMIT
        )
        for entry in changes if changes is not None else [node_change(0), node_change(1)]:
            audit_log.change(reconcile_id, entry)
        audit_log.end(reconcile_id, outcome, error)
        return reconcile_id

    return record
