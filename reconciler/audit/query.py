"""Reading the audit log: filtered entries for `gpuctl audit log`, all rows for export and
verification, and reconcile summaries for `gpuctl status`. Never creates or migrates a file;
all reads of one call happen in one read transaction, so a concurrent writer cannot make
them disagree (WAL snapshot)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from reconciler.audit.connection import open_for_reading, store_error
from reconciler.audit.errors import AuditStoreError
from reconciler.audit.schema import (
    CHANGE,
    INTENT,
    OUTCOMES,
    RECONCILE_FINISHED,
    RECONCILE_STARTED,
    format_timestamp,
)

_FETCH_BATCH = 2000


@dataclass(frozen=True)
class AuditEntry:
    """One stored row: its position, its chain hashes and its (hashed) content."""

    seq: int
    prev_hash: str
    hash: str
    content_json: str

    @property
    def content(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.content_json)
        return parsed

    def to_record(self) -> dict[str, Any]:
        """The entry as one export record: enough to re-verify the chain offline."""
        return {"seq": self.seq, "prev_hash": self.prev_hash, "hash": self.hash, "entry": self.content}

    def describe(self) -> str:
        """A one-line human description (`#12 change ConfigMap/ns/x configured`)."""
        try:
            content = self.content
        except ValueError:
            return f"#{self.seq} (content is not valid JSON)"
        parts = [
            f"#{self.seq}",
            content.get("type") or "?",
            content.get("object") or (content.get("revision") or {}).get("sha"),
            content.get("action") or content.get("outcome") or content.get("trigger"),
            f"at {content.get('at', '?')}",
        ]
        return " ".join(str(part) for part in parts if part)


@dataclass(frozen=True)
class EntryFilter:
    """Which entries `gpuctl audit log` shows; every set field must match."""

    since: datetime | None = None
    object_ref: str | None = None
    revision: str | None = None  # a revision sha or a prefix of one


@dataclass(frozen=True)
class ReconcileSummary:
    """One reconcile as `gpuctl status` shows it (finished_at/outcome empty while unfinished)."""

    reconcile_id: str
    revision: dict[str, str]
    trigger: str
    started_at: str
    finished_at: str | None
    outcome: str | None
    error: str | None
    changes: int


class AuditReader:
    """Read-only access to an existing audit database."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = open_for_reading(self.path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> AuditReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Hold one read transaction, so every read inside sees the same state of the log."""
        try:
            self._conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, "read") from exc
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def entries(self, where: EntryFilter | None = None) -> Iterator[AuditEntry]:
        """Entries in log order, filtered by `where`."""
        clauses, params = _filter_sql(where or EntryFilter())
        sql = "SELECT seq, prev_hash, hash, content FROM entries"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        yield from self._rows(sql + " ORDER BY seq", params)

    def seq_of_hash(self, entry_hash: str) -> int | None:
        """The position of the entry whose hash is `entry_hash`, if any."""
        row = self._query("SELECT seq FROM entries WHERE hash = ?", (entry_hash,)).fetchone()
        return None if row is None else int(row[0])

    def head(self) -> tuple[int, str] | None:
        """The recorded chain head (seq, hash) of the newest entry, or None if it was removed."""
        try:
            row = self._query("SELECT seq, hash FROM chain_head WHERE id = 1", ()).fetchone()
        except AuditStoreError:  # the table itself may have been dropped by an attacker
            return None
        return None if row is None else (int(row[0]), str(row[1]))

    def intent_index(self) -> tuple[dict[str, int], set[str]]:
        """Where each write-ahead intent is (intent id → seq), and which have an outcome."""
        rows = self._query(
            "SELECT json_extract(content, '$.intent_id'), json_extract(content, '$.type'), seq FROM entries "
            "WHERE json_extract(content, '$.intent_id') IS NOT NULL",
            (),
        ).fetchall()
        positions = {str(i): int(seq) for i, kind, seq in rows if kind == INTENT}
        return positions, {str(i) for i, kind, _ in rows if kind in OUTCOMES}

    def reconciles(self, limit: int = 10) -> list[ReconcileSummary]:
        """The newest `limit` reconciles, newest first."""
        rows = self._query(
            "SELECT s.content, f.content FROM entries AS s "
            "LEFT JOIN entries AS f ON f.reconcile_id = s.reconcile_id AND f.entry_type = ? "
            "WHERE s.entry_type = ? ORDER BY s.seq DESC LIMIT ?",
            (RECONCILE_FINISHED, RECONCILE_STARTED, limit),
        ).fetchall()
        return [_summary(json.loads(start), json.loads(end) if end else None) for start, end in rows]

    def last_applied(self) -> ReconcileSummary | None:
        """The newest reconcile that finished with outcome succeeded or noop."""
        row = self._query(
            "SELECT content FROM entries WHERE entry_type = ? "
            "AND json_extract(content, '$.outcome') IN ('succeeded', 'noop') ORDER BY seq DESC LIMIT 1",
            (RECONCILE_FINISHED,),
        ).fetchone()
        if row is None:
            return None
        end = json.loads(row[0])
        start = {**end, "at": end["started_at"]}
        return _summary(start, end)

    def _rows(self, sql: str, params: tuple[Any, ...]) -> Iterator[AuditEntry]:
        cursor = self._query(sql, params)
        while batch := cursor.fetchmany(_FETCH_BATCH):
            for seq, prev_hash, entry_hash, content in batch:
                yield AuditEntry(int(seq), str(prev_hash), str(entry_hash), str(content))

    def _query(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, "read") from exc


def _filter_sql(where: EntryFilter) -> tuple[list[str], tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.since is not None:
        clauses.append("recorded_at >= ?")
        params.append(format_timestamp(where.since))
    if where.object_ref is not None:
        clauses.append("entry_type = ? AND object_ref = ?")
        params += [CHANGE, where.object_ref]
    if where.revision is not None:
        clauses.append(
            "reconcile_id IN (SELECT reconcile_id FROM entries WHERE entry_type = ? "
            "AND substr(revision_sha, 1, length(?)) = ?)"
        )
        params += [RECONCILE_STARTED, where.revision, where.revision]
    return clauses, tuple(params)


def _summary(start: dict[str, Any], end: dict[str, Any] | None) -> ReconcileSummary:
    return ReconcileSummary(
        reconcile_id=str(start["reconcile_id"]),
        revision=dict(start.get("revision") or {}),
        trigger=str(start.get("trigger", "")),
        started_at=str(start["at"]),
        finished_at=None if end is None else str(end["at"]),
        outcome=None if end is None else str(end["outcome"]),
        error=None if end is None else end.get("error"),
        changes=0 if end is None else int(end.get("changes", 0)),
    )
