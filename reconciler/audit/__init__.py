"""The audit log: an append-only, hash-chained SQLite record of every reconcile and change.

`SqliteAuditLog` (store) is what the engine writes to; `AuditReader` (query) and
`verify_chain` (verification) are what `gpuctl audit` and `gpuctl status` read with;
`redaction` removes credentials before anything is stored and is reused by diff and logs.
"""

from reconciler.audit.errors import AuditBusyError, AuditError, AuditStoreError, UnknownReconcileError
from reconciler.audit.store import SqliteAuditLog

__all__ = [
    "AuditBusyError",
    "AuditError",
    "AuditStoreError",
    "SqliteAuditLog",
    "UnknownReconcileError",
]
