"""`SqliteAuditLog`: the durable, append-only, hash-chained audit store the engine writes to.

Implements the engine's `AuditSink` seam (`reconciler.protocols`): `begin` writes a
"reconcile started" entry and returns the reconcile id, `change` one entry per cluster write,
`end` the "reconcile finished" entry. Every call is its own `BEGIN IMMEDIATE` transaction
that re-reads the chain head, appends one row and commits with `synchronous=FULL` before
returning, so an entry is on disk before the engine makes its next cluster write. A lock
makes one instance safe across threads; SQLite's write lock makes several processes safe.
Patches are redacted (`reconciler.audit.redaction`) before they are hashed or stored.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from reconciler.audit.chain import canonical_json, link_hash
from reconciler.audit.connection import DEFAULT_BUSY_TIMEOUT_S, open_for_writing, store_error
from reconciler.audit.errors import AuditError, AuditStoreError, UnknownReconcileError
from reconciler.audit.intents import OpenIntent, is_settled, open_intents, this_writer, writer_running
from reconciler.audit.redaction import redact_patch
from reconciler.audit.schema import (
    CHANGE,
    INTENT,
    INTENT_VOID,
    RECONCILE_FINISHED,
    RECONCILE_STARTED,
    format_timestamp,
    migrate,
    utc_now,
)
from reconciler.crashpoints import crash_point
from schemas.results import ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger

Clock = Callable[[], datetime]


class SqliteAuditLog:
    """The audit log in one SQLite file (created and migrated on open)."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Clock = utc_now,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        durable: bool = True,
    ) -> None:
        """Open or create the log at `path`. `clock` stamps entries (tests pass a fixed one);
        `durable=False` skips the fsync per entry and is only for building bulk fixtures."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = open_for_writing(self.path, busy_timeout, durable=durable)
        try:
            migrate(self._conn, str(self.path))
        except sqlite3.Error as exc:
            self.close()
            raise store_error(self.path, exc, "migration") from exc
        except BaseException:
            self.close()
            raise
        self._open_reconciles: set[str] = set()
        self._writer = this_writer()

    def begin(self, revision: RevisionInfo, trigger: Trigger) -> str:
        """Record the start of a reconcile of `revision`; return its new reconcile id."""
        reconcile_id = uuid.uuid4().hex
        started = {
            "type": RECONCILE_STARTED,
            "reconcile_id": reconcile_id,
            "revision": _revision_content(revision),
            "trigger": Trigger(trigger).value,
        }

        def build_start(_conn: sqlite3.Connection) -> dict[str, Any]:
            self._open_reconciles.add(reconcile_id)  # under the append lock
            return started

        self._append(build_start)
        return reconcile_id

    def change(self, reconcile_id: str, entry: ChangeEntry, *, intent_id: str | None = None) -> None:
        """Record one change of the reconcile, durably, before returning; with `intent_id`, as
        the outcome of that intent."""

        def build_change(conn: sqlite3.Connection) -> dict[str, Any]:
            if reconcile_id not in self._open_reconciles:
                self._started_entry(conn, reconcile_id)
            content = _change_content(CHANGE, reconcile_id, entry)
            if intent_id is not None:  # only then, so entries without intents keep their shape
                content["intent_id"] = intent_id
            return content

        self._append(build_change)

    def intent(self, reconcile_id: str, entry: ChangeEntry, check: dict[str, Any]) -> str:
        """Record, durably, the write about to be made (`entry`: what it will change; `check`:
        how to tell on the cluster whether it landed); return the new intent's id."""
        intent_id = uuid.uuid4().hex

        def build_intent(conn: sqlite3.Connection) -> dict[str, Any]:
            if reconcile_id not in self._open_reconciles:
                self._started_entry(conn, reconcile_id)
            content = _change_content(INTENT, reconcile_id, entry)
            content.update(intent_id=intent_id, check=check, writer=self._writer.to_content())
            return content

        self._append(build_intent)
        return intent_id

    def void(self, reconcile_id: str, intent_id: str, reason: str) -> None:
        """Record that the write of this reconcile's intent `intent_id` was not made."""

        def build_void(conn: sqlite3.Connection) -> dict[str, Any]:
            if reconcile_id not in self._open_reconciles:
                self._started_entry(conn, reconcile_id)
            announced = conn.execute(
                "SELECT json_extract(content, '$.object') FROM entries "
                "WHERE intent_id = ? AND entry_type = ?",
                (intent_id, INTENT),
            ).fetchone()
            return {
                "type": INTENT_VOID, "reconcile_id": reconcile_id, "intent_id": intent_id, "message": reason,
                "object": announced[0] if announced else None,
            }

        self._append(build_void)

    def orphaned_intents(self) -> list[OpenIntent]:
        """Open intents nobody can settle any more (see `reconciler.audit.intents`), oldest first."""
        with self._lock:
            found = open_intents(self._connection())
        me = self._writer
        return [i for i in found if i.reconcile_ended or not writer_running(i.writer, me)]

    def settle(
        self, reconcile_id: str, intent_seq: int, planned: dict[str, Any], landed: bool, message: str
    ) -> bool:
        """Record the outcome of the orphaned intent at `intent_seq` (`planned`: its content),
        found on the cluster: the change it announced (`landed`, marked recovered) or that it
        did not happen. False, writing nothing, when it has an outcome already."""
        settled = [False]

        def build_outcome(conn: sqlite3.Connection) -> dict[str, Any] | None:
            if reconcile_id not in self._open_reconciles:
                self._started_entry(conn, reconcile_id)
            intent_id = str(planned["intent_id"])
            if is_settled(conn, intent_id):
                return None
            settled[0] = True
            common = {"reconcile_id": reconcile_id, "intent_id": intent_id, "intent_seq": intent_seq}
            if not landed:
                return {"type": INTENT_VOID, "object": planned.get("object"), "message": message, **common}
            keys = ("object", "ref", "action", "patch", "message", "error")
            content = {key: planned.get(key) for key in keys}
            content.update(type=CHANGE, recovered=True, **common)
            announced = str(planned.get("message") or "")
            content["message"] = f"{announced} {message}" if announced else message
            return content

        self._append(build_outcome)
        return settled[0]

    def end(self, reconcile_id: str, outcome: ReconcileOutcome, error: str | None = None) -> None:
        """Record how the reconcile ended (with its start time, revision and change counts)."""

        def build_end(conn: sqlite3.Connection) -> dict[str, Any]:
            started = self._started_entry(conn, reconcile_id)
            # Under the append lock, so no change of this id can slip in after the end entry;
            # should this append fail, the next call falls back to reading the log.
            self._open_reconciles.discard(reconcile_id)
            counts = conn.execute(
                "SELECT count(*), count(json_extract(content, '$.error')) FROM entries "
                "WHERE reconcile_id = ? AND entry_type = ?",
                (reconcile_id, CHANGE),
            ).fetchone()
            return {
                "type": RECONCILE_FINISHED,
                "reconcile_id": reconcile_id,
                "started_at": started["at"],
                "revision": started["revision"],
                "trigger": started["trigger"],
                "outcome": ReconcileOutcome(outcome).value,
                "error": error,
                "changes": int(counts[0]),
                "failed_changes": int(counts[1]),
            }

        self._append(build_end)

    def last_change(self, object_ref: str) -> dict[str, Any] | None:
        """The content of the newest change entry for `object_ref` (`Kind/namespace/name`)."""
        return self.last_changes([object_ref]).get(object_ref)

    def last_changes(self, object_refs: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The content of the newest change entry of each of `object_refs` that has one.
        Only change entries carry an object, so the newest seq per object comes from the
        object index alone; one query per 500 objects."""
        found: dict[str, dict[str, Any]] = {}
        refs = list(dict.fromkeys(object_refs))
        with self._lock:
            conn = self._connection()
            for start in range(0, len(refs), _REFS_PER_QUERY):
                chunk = refs[start:start + _REFS_PER_QUERY]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT content FROM entries WHERE seq IN (SELECT max(seq) FROM entries "
                    f"WHERE object_ref IN ({marks}) AND entry_type = ? GROUP BY object_ref)",
                    (*chunk, CHANGE),
                ).fetchall()
                for (content,) in rows:
                    parsed: dict[str, Any] = json.loads(content)
                    found[str(parsed["object"])] = parsed
        return found

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SqliteAuditLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _append(self, build: Callable[[sqlite3.Connection], dict[str, Any] | None]) -> None:
        """Append one entry in its own write transaction, chained to the head read inside it.

        `build` makes the entry's content inside the transaction (it may read the log); the
        entry is stamped there too, so timestamps never go backwards along the chain."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise store_error(self.path, exc, "append") from exc
            try:
                content = build(conn)
                if content is None:  # nothing to append after all
                    conn.execute("ROLLBACK")
                    return
                body = {**content, "at": format_timestamp(self._clock())}
                head_seq, head_hash = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
                body_json = _serialise(body)
                new_hash = link_hash(head_hash, body_json)
                conn.execute(
                    "INSERT INTO entries (seq, content, prev_hash, hash) VALUES (?, ?, ?, ?)",
                    (head_seq + 1, body_json, head_hash, new_hash),
                )
                conn.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (head_seq + 1, new_hash))
                crash_point("audit-append")
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback_quietly(conn)
                if isinstance(exc, sqlite3.Error):
                    raise store_error(self.path, exc, "append") from exc
                raise

    def _started_entry(self, conn: sqlite3.Connection, reconcile_id: str) -> dict[str, Any]:
        """The "reconcile started" content of an open reconcile; terminal error if none/ended."""
        rows = conn.execute(
            "SELECT entry_type, content FROM entries WHERE reconcile_id = ? AND entry_type IN (?, ?)",
            (reconcile_id, RECONCILE_STARTED, RECONCILE_FINISHED),
        ).fetchall()
        by_type = {row[0]: row[1] for row in rows}
        if RECONCILE_STARTED not in by_type:
            raise UnknownReconcileError(f"{self.path}: no reconcile {reconcile_id!r} was begun in this log")
        if RECONCILE_FINISHED in by_type:
            raise UnknownReconcileError(f"{self.path}: reconcile {reconcile_id!r} has already ended")
        started: dict[str, Any] = json.loads(by_type[RECONCILE_STARTED])
        return started

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise AuditStoreError(f"{self.path}: the audit log is closed")
        return self._conn


_REFS_PER_QUERY = 500


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if any, without hiding the error that made us undo it."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _change_content(entry_type: str, reconcile_id: str, entry: ChangeEntry) -> dict[str, Any]:
    ref = entry.ref
    return {
        "type": entry_type,
        "reconcile_id": reconcile_id,
        "object": str(ref),
        "ref": {"group": ref.group, "kind": ref.kind, "namespace": ref.namespace, "name": ref.name},
        "action": entry.action.value,
        "patch": redact_patch(entry.patch, ref),
        "message": entry.message,
        "error": entry.error,
    }


def _serialise(body: dict[str, Any]) -> str:
    try:
        return canonical_json(body)
    except (TypeError, ValueError) as exc:
        what = body.get("object") or body.get("type")
        raise AuditError(
            f"audit entry for {what} is not plain JSON (the patch must be JSON-like): {exc}"
        ) from exc


def _revision_content(revision: RevisionInfo) -> dict[str, str]:
    content = {
        "sha": revision.sha,
        "author": revision.author,
        "message": revision.message,
        "path": revision.path,
    }
    if revision.rewrites:  # only then, so entries of ordinary revisions keep their shape
        content["history_rewritten_from"] = revision.rewrites
    if revision.built_with:  # likewise: only revisions built by kustomize carry it
        content["built_with"] = revision.built_with
    if revision.operator is not None:  # likewise: only manual commands name their operator
        content["kube_user"] = revision.operator.kube_user
        content["os_user"] = revision.operator.os_user
    return content
