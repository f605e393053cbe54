"""The SQLite audit store: what each call writes, append-only enforcement, durability."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from audit_testkit import RecordReconcile, node_change

from reconciler.audit import (
    AuditBusyError,
    AuditError,
    AuditStoreError,
    SqliteAuditLog,
    UnknownReconcileError,
)
from reconciler.audit.query import AuditReader
from reconciler.audit.schema import SCHEMA_VERSION
from reconciler.audit.verification import verify_chain
from schemas.results import ReconcileOutcome, RevisionInfo, Trigger

REPO_ROOT = Path(__file__).resolve().parents[3]


def _contents(db_path: Path) -> list[dict[str, object]]:
    with AuditReader(db_path) as reader:
        return [entry.content for entry in reader.entries()]


def test_reconcile_writes_start_changes_and_end_in_order(
    audit_log: SqliteAuditLog, db_path: Path, record_reconcile: RecordReconcile
) -> None:
    """begin/change/end write one entry each, in call order, with revision, trigger and outcome."""
    reconcile_id = record_reconcile(sha="deadbeef", error=None)
    started, first, second, finished = _contents(db_path)
    assert started["type"] == "reconcile-started"
    assert started["revision"] == {
        "sha": "deadbeef",
        "author": "Ann Operator <ann@example.com>",
        "message": "Resize MIG",
        "path": "",
    }
    assert started["trigger"] == "commit"
    assert [first["object"], second["object"]] == ["Node/gpu-node-0", "Node/gpu-node-1"]
    assert first["action"] == "relabelled"
    assert finished["type"] == "reconcile-finished"
    assert finished["outcome"] == "succeeded"
    assert finished["started_at"] == started["at"]
    assert finished["changes"] == 2
    assert {e["reconcile_id"] for e in (started, first, second, finished)} == {reconcile_id}


def test_end_records_error_and_failed_change_count(audit_log: SqliteAuditLog, db_path: Path) -> None:
    """A failed reconcile's end entry carries the error and counts the changes that failed."""
    reconcile_id = audit_log.begin(RevisionInfo("abc"), Trigger.POLL)
    failed = node_change(3)
    audit_log.change(reconcile_id, type(failed)(failed.ref, failed.action, failed.patch, error="timeout"))
    audit_log.change(reconcile_id, node_change(4))
    audit_log.end(reconcile_id, ReconcileOutcome.FAILED, "MIG manager reported failed on gpu-node-3")
    finished = _contents(db_path)[-1]
    assert finished["outcome"] == "failed"
    assert finished["error"] == "MIG manager reported failed on gpu-node-3"
    assert (finished["changes"], finished["failed_changes"]) == (2, 1)


def test_unknown_or_ended_reconcile_is_refused(
    audit_log: SqliteAuditLog, record_reconcile: RecordReconcile
) -> None:
    """change/end with an id never begun, or already ended, raise UnknownReconcileError."""
    with pytest.raises(UnknownReconcileError, match="no reconcile"):
        audit_log.change("not-a-reconcile", node_change(0))
    ended = record_reconcile()
    with pytest.raises(UnknownReconcileError, match="already ended"):
        audit_log.change(ended, node_change(0))
    with pytest.raises(UnknownReconcileError, match="already ended"):
        audit_log.end(ended, ReconcileOutcome.SUCCEEDED)


def test_database_refuses_update_and_delete(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """Triggers in the database itself abort UPDATE and DELETE of entries and of the chain head."""
    record_reconcile()
    conn = sqlite3.connect(db_path)
    for statement in (
        "UPDATE entries SET content = json_set(content, '$.action', 'deleted') WHERE seq = 2",
        "DELETE FROM entries WHERE seq = 4",
        "DELETE FROM chain_head",
        "UPDATE chain_head SET seq = 2",
    ):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(statement)
    conn.close()


def test_database_refuses_insert_that_does_not_extend_the_chain(
    db_path: Path, record_reconcile: RecordReconcile
) -> None:
    """An INSERT with the wrong position or previous hash is aborted by the database."""
    record_reconcile()
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="extend the chain head"):
        conn.execute("INSERT INTO entries (seq, content, prev_hash, hash) VALUES (5, '{}', 'x', 'y')")
    conn.close()


def test_wal_mode_and_schema_version(audit_log: SqliteAuditLog, db_path: Path) -> None:
    """The file is in WAL mode and records the schema version it was migrated to."""
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_reopening_continues_the_same_chain(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """A second store on the same file appends after the existing entries; the chain stays valid."""
    record_reconcile()
    with SqliteAuditLog(db_path) as again:
        reconcile_id = again.begin(RevisionInfo("second"), Trigger.RESYNC)
        again.end(reconcile_id, ReconcileOutcome.NOOP)
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
    assert result.ok
    assert result.count == 6


def test_threads_share_one_store_safely(audit_log: SqliteAuditLog, db_path: Path) -> None:
    """Eight threads appending through one store produce every entry on one valid chain."""

    def worker(n: int) -> None:
        reconcile_id = audit_log.begin(RevisionInfo(f"rev{n}"), Trigger.MANUAL)
        for i in range(25):
            audit_log.change(reconcile_id, node_change(i))
        audit_log.end(reconcile_id, ReconcileOutcome.SUCCEEDED)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
        ends = [s for s in reader.reconciles(limit=100) if s.outcome == "succeeded"]
    assert result.ok
    assert result.count == 8 * 27
    assert sorted(s.changes for s in ends) == [25] * 8


def test_entry_survives_a_crash_right_after_change_returns(db_path: Path) -> None:
    """An entry is on disk when change() returns: a process killed right after loses nothing."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from reconciler.audit import SqliteAuditLog\n"
        "from schemas.refs import ObjectRef\n"
        "from schemas.results import Action, ChangeEntry, RevisionInfo, Trigger\n"
        "log = SqliteAuditLog(Path(sys.argv[1]))\n"
        "rid = log.begin(RevisionInfo('crash'), Trigger.COMMIT)\n"
        "log.change(rid, ChangeEntry(ObjectRef('', 'Node', '', 'gpu-node-9'), Action.CORDONED))\n"
        "os._exit(9)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", script, str(db_path)], env=env, check=False, timeout=60)
    assert done.returncode == 9
    contents = _contents(db_path)
    assert [c["type"] for c in contents] == ["reconcile-started", "change"]
    assert contents[1]["action"] == "cordoned"
    with AuditReader(db_path) as reader:
        assert verify_chain(reader).ok


def test_newer_schema_is_refused(db_path: Path) -> None:
    """A database written by a newer gpuctl (higher user_version) is not touched."""
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(AuditStoreError, match="newer than this gpuctl"):
        SqliteAuditLog(db_path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    """Opening a non-SQLite file names the file and fails with AuditStoreError."""
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are not the entries you are looking for\n" * 20)
    with pytest.raises(AuditStoreError, match=r"notes\.db"):
        SqliteAuditLog(bogus)
    with pytest.raises(AuditStoreError, match=r"notes\.db"):
        AuditReader(bogus)


def test_export_record_rehashes_to_its_stored_hash(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """Each exported record's canonical entry JSON, chained to prev_hash, gives its hash."""
    from reconciler.audit.chain import GENESIS_HASH, canonical_json, link_hash

    record_reconcile()
    with AuditReader(db_path) as reader:
        records = [json.loads(json.dumps(e.to_record())) for e in reader.entries()]
    previous = GENESIS_HASH
    for record in records:
        assert record["prev_hash"] == previous
        assert link_hash(previous, canonical_json(record["entry"])) == record["hash"]
        previous = record["hash"]


def test_write_lock_held_too_long_is_a_retryable_error(
    db_path: Path, record_reconcile: RecordReconcile
) -> None:
    """If another writer holds the lock past the busy timeout, append raises AuditBusyError
    and writes nothing; once the lock is released the next append succeeds on a valid chain."""
    record_reconcile()
    with SqliteAuditLog(db_path, busy_timeout=0.05) as impatient:
        reconcile_id = impatient.begin(RevisionInfo("busy"), Trigger.MANUAL)
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(AuditBusyError, match="busy"):
            impatient.change(reconcile_id, node_change(7))
        holder.execute("ROLLBACK")
        holder.close()
        impatient.change(reconcile_id, node_change(7))
        impatient.end(reconcile_id, ReconcileOutcome.SUCCEEDED)
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
        (latest, _) = reader.reconciles(limit=2)
    assert result.ok
    assert result.count == 7
    assert latest.changes == 1


def test_non_json_patch_is_refused_and_nothing_written(audit_log: SqliteAuditLog, db_path: Path) -> None:
    """A patch holding a non-JSON value raises AuditError and leaves the chain as it was."""
    reconcile_id = audit_log.begin(RevisionInfo("x"), Trigger.MANUAL)
    bad = node_change(1)
    with pytest.raises(AuditError, match="Node/gpu-node-1 is not plain JSON"):
        audit_log.change(
            reconcile_id, type(bad)(bad.ref, bad.action, [{"op": "add", "path": "/a", "value": {1, 2}}])
        )
    audit_log.change(reconcile_id, node_change(2))
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
    assert result.ok
    assert result.count == 2


def test_revision_built_by_kustomize_names_the_tool(audit_log: SqliteAuditLog, db_path: Path) -> None:
    """A revision built from a kustomization records the tool and version that built it."""
    revision = RevisionInfo(sha="cafe", path="clusters/prod", built_with="kubectl kustomize v5.5.0")
    audit_log.end(audit_log.begin(revision, Trigger.COMMIT), ReconcileOutcome.SUCCEEDED)
    started = _contents(db_path)[0]
    assert started["revision"]["built_with"] == "kubectl kustomize v5.5.0"
