"""Opening the audit database: the pragmas every connection needs, and SQLite errors mapped
to the audit log's own (busy → retryable, anything else → terminal, always naming the file)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from reconciler.audit.errors import AuditBusyError, AuditError, AuditStoreError
from reconciler.audit.schema import check_readable_version, schema_version

DEFAULT_BUSY_TIMEOUT_S = 30.0


def open_for_writing(
    path: Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S, *, durable: bool = True
) -> sqlite3.Connection:
    """Open (creating if needed) `path` in WAL mode, autocommit, with `synchronous=FULL`
    (each commit fsynced before it returns); `durable=False` (NORMAL) is for bulk fixtures only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise AuditStoreError(f"{path}: cannot open the audit database: {exc}{_not_writable(path)}") from exc
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise AuditStoreError(f"{path}: the file system refused WAL mode (journal_mode={mode})")
        conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        conn.close()
        raise store_error(path, exc, "open") from exc
    except AuditStoreError:
        conn.close()
        raise
    return conn


def _not_writable(path: Path) -> str:
    """Why the audit directory refuses this process, when it does: a volume that ignores the
    Pod's fsGroup (hostPath, some local and NFS provisioners) stays owned by root."""
    directory = path.parent
    if not directory.is_dir() or os.access(directory, os.W_OK | os.X_OK):
        return ""
    info = directory.stat()
    return (
        f" (directory {directory} is owned by {info.st_uid}:{info.st_gid} with mode "
        f"{stat.filemode(info.st_mode)}, not writable by uid {os.geteuid()} gid {os.getegid()}: "
        "give the volume to that user, e.g. a volume that honours the Pod's fsGroup, or chown it)"
    )


def open_for_reading(path: Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """Open an existing audit database read-only: never created, migrated or written."""
    if not path.is_file():
        raise AuditStoreError(f"{path}: no audit database here (pass --db FILE or set GPUCTL_AUDIT_DB)")
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise store_error(path, exc, "open") from exc
    try:
        version = schema_version(conn)
        if version == 0 or not _has_entries_table(conn):
            raise AuditStoreError(f"{path}: not a gpuctl audit database (no audit schema in it)")
        check_readable_version(version, str(path))
    except sqlite3.Error as exc:
        conn.close()
        raise store_error(path, exc, "read") from exc
    except AuditStoreError:
        conn.close()
        raise
    return conn


def _has_entries_table(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").fetchone()
    return row is not None


def store_error(path: Path, exc: sqlite3.Error, doing: str) -> AuditError:
    """The audit error for a SQLite failure while `doing` something with `path`."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return AuditBusyError(f"{path}: audit database busy during {doing} (another writer holds it): {text}")
    return AuditStoreError(f"{path}: audit database {doing} failed: {text}")
