"""The audit log: an append-only, hash-chained SQLite record of every reconcile and change.

`SqliteAuditLog` (store) is what the engine writes to; `AuditReader` (query), `JsonlExport`
(archive) and `verify_chain` (verification) are what `gpuctl audit` and `gpuctl status` read with;
`redaction` removes credentials before anything is stored and is reused by diff and logs.
"""

from reconciler.audit.archive import JsonlExport
from reconciler.audit.errors import AuditBusyError, AuditError, AuditStoreError, UnknownReconcileError
from reconciler.audit.query import AuditEntry, AuditReader, EntryFilter, ReconcileSummary
from reconciler.audit.redaction import redact_document, redact_patch
from reconciler.audit.store import SqliteAuditLog
from reconciler.audit.verification import ChainProblem, ChainSource, Tampering, VerifyResult, verify_chain

__all__ = [
    "AuditBusyError",
    "AuditEntry",
    "AuditError",
    "AuditReader",
    "AuditStoreError",
    "ChainProblem",
    "ChainSource",
    "EntryFilter",
    "JsonlExport",
    "ReconcileSummary",
    "SqliteAuditLog",
    "Tampering",
    "UnknownReconcileError",
    "VerifyResult",
    "redact_document",
    "redact_patch",
    "verify_chain",
]
