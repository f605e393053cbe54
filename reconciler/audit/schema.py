"""The audit database's schema and its migrations (tracked in `PRAGMA user_version`).

One table of entries, append-only in the database itself (triggers abort UPDATE and DELETE,
and refuse an INSERT that does not extend the chain head), plus a one-row `chain_head` that
records the newest entry so that removing entries from the end is detected too. Query
columns are generated from the hashed JSON content, so nothing outside the hash can drift.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from reconciler.audit.chain import GENESIS_HASH
from reconciler.audit.errors import AuditStoreError

# Entry types, as stored in each entry's content under "type".
RECONCILE_STARTED = "reconcile-started"
CHANGE = "change"
RECONCILE_FINISHED = "reconcile-finished"
# Write-ahead: an intent before each cluster write; its outcome is a `change` entry naming the
# intent, or an `intent-void` entry when the write did not happen.
INTENT = "intent"
INTENT_VOID = "intent-void"
OUTCOMES = (CHANGE, INTENT_VOID)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """Entry time as stored: fixed-width ISO 8601 UTC (`2026-11-28T23:55:48.123456Z`), so that
    text order is time order and `--since` can use the index."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_V1 = (
    """
    CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        content TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        entry_type TEXT GENERATED ALWAYS AS (json_extract(content, '$.type')) VIRTUAL,
        reconcile_id TEXT GENERATED ALWAYS AS (json_extract(content, '$.reconcile_id')) VIRTUAL,
        recorded_at TEXT GENERATED ALWAYS AS (json_extract(content, '$.at')) VIRTUAL,
        revision_sha TEXT GENERATED ALWAYS AS (json_extract(content, '$.revision.sha')) VIRTUAL,
        object_ref TEXT GENERATED ALWAYS AS (json_extract(content, '$.object')) VIRTUAL
    )
    """,
    "CREATE INDEX entries_by_reconcile ON entries (reconcile_id, entry_type)",
    "CREATE INDEX entries_by_object ON entries (object_ref)",
    "CREATE INDEX entries_by_revision ON entries (revision_sha)",
    "CREATE INDEX entries_by_time ON entries (recorded_at)",
    """
    CREATE TABLE chain_head (
        id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL
    )
    """,
    f"INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')",
    """
    CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE of an entry refused'); END
    """,
    """
    CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE of an entry refused'); END
    """,
    """
    CREATE TRIGGER entries_extend_head BEFORE INSERT ON entries
    WHEN NEW.seq IS NOT (SELECT seq + 1 FROM chain_head) OR NEW.prev_hash IS NOT (SELECT hash FROM chain_head)
    BEGIN SELECT RAISE(ABORT, 'an audit entry must extend the chain head'); END
    """,
    """
    CREATE TRIGGER chain_head_no_delete BEFORE DELETE ON chain_head
    BEGIN SELECT RAISE(ABORT, 'the audit chain head cannot be deleted'); END
    """,
    """
    CREATE TRIGGER chain_head_forward_only BEFORE UPDATE ON chain_head
    WHEN NEW.seq IS NOT OLD.seq + 1 OR NEW.hash IS NOT (SELECT hash FROM entries WHERE seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'the audit chain head may only advance to the newest entry'); END
    """,
)

# Version 2: write-ahead intents. Entries gain an `intent_id` query column (intents and their
# outcomes carry one), indexed so that the open intents are found without reading the log.
_V2 = (
    "ALTER TABLE entries ADD COLUMN intent_id TEXT "
    "GENERATED ALWAYS AS (json_extract(content, '$.intent_id')) VIRTUAL",
    "CREATE INDEX entries_by_intent ON entries (intent_id, entry_type)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the open database (0 for a new, empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, where: str) -> None:
    """Bring the database up to `SCHEMA_VERSION` in one write transaction (autocommit connection)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        check_readable_version(current, where)
        for version in range(current, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def check_readable_version(version: int, where: str) -> None:
    """Refuse a database written by a newer gpuctl (its schema is not known here)."""
    if version > SCHEMA_VERSION:
        raise AuditStoreError(
            f"{where}: audit schema version {version} is newer than this gpuctl understands "
            f"({SCHEMA_VERSION}); upgrade gpuctl to read it"
        )
