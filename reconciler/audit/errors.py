"""Errors of the audit log, split by what the caller should do next.

`AuditBusyError` is retryable (another process held the write lock past the busy timeout);
every other `AuditError` is terminal: the file is missing, is not an audit database, was
written by a newer gpuctl, or the caller used a reconcile id the log does not know.
They sit under `schemas.errors`' split (`Retryable`, `Terminal`); this module imports nothing
else of ours.
"""

from __future__ import annotations

from schemas.errors import Retryable, Terminal


class AuditError(Terminal):
    """Base of every error the audit log raises on purpose (terminal unless a subclass says not)."""


class AuditBusyError(AuditError, Retryable):
    """Retryable: the database stayed locked by another writer for longer than the busy timeout."""

    def __init__(self, message: str, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class AuditStoreError(AuditError):
    """Terminal: the database cannot be opened, read or written (missing, corrupt, I/O error)."""


class UnknownReconcileError(AuditError):
    """Terminal: `change`/`end` named a reconcile id that was never begun, or already ended."""
