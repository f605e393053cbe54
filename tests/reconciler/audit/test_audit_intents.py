"""Write-ahead intents in the audit log: intent then outcome, orphaned intents (writer gone or
reconcile ended) settled once, verify's pairing checks, `audit log` showing one line per
write, and the schema migration of a version-1 database."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from audit_testkit import node_change
from typer.testing import CliRunner

from gpuctl.cli import app
from reconciler.audit import AuditReader, SqliteAuditLog, Tampering, verify_chain
from reconciler.audit import schema as audit_schema
from schemas.results import ReconcileOutcome, RevisionInfo, Trigger

runner = CliRunner()
CHECK = {"how": "patched", "apiVersion": "v1", "merge": {"spec": {"unschedulable": True}}}


def begin(log: SqliteAuditLog) -> str:
    return log.begin(RevisionInfo("abc123"), Trigger.COMMIT)


def test_intent_then_outcome_verifies_with_nothing_open(audit_log: SqliteAuditLog, db_path: Path) -> None:
    """An intent followed by its outcome: verify passes and reports no open intent."""
    rid = begin(audit_log)
    intent_id = audit_log.intent(rid, node_change(1), CHECK)
    audit_log.change(rid, node_change(1), intent_id=intent_id)
    audit_log.end(rid, ReconcileOutcome.SUCCEEDED)
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
    assert result.ok and result.open_intents == 0 and result.count == 4
    assert audit_log.orphaned_intents() == []


def test_intent_of_a_running_writer_is_open_not_orphaned(audit_log: SqliteAuditLog, db_path: Path) -> None:
    """An intent whose writer still runs and whose reconcile is open is neither settled nor an error."""
    rid = begin(audit_log)
    audit_log.intent(rid, node_change(1), CHECK)
    with SqliteAuditLog(db_path) as other:  # another writer in this (running) process
        assert other.orphaned_intents() == []
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
    assert result.ok and result.open_intents == 1


def test_intent_of_an_ended_reconcile_is_orphaned_and_settled_once(audit_log: SqliteAuditLog) -> None:
    """An intent left without outcome by a reconcile that ended is orphaned; settling it twice
    records one outcome."""
    rid = begin(audit_log)
    audit_log.intent(rid, node_change(1), CHECK)
    audit_log.end(rid, ReconcileOutcome.FAILED, "patch raised")
    [orphan] = audit_log.orphaned_intents()
    rid2 = begin(audit_log)
    assert audit_log.settle(rid2, orphan.seq, orphan.content, True, "(recovered)")
    assert not audit_log.settle(rid2, orphan.seq, orphan.content, True, "(recovered)")
    assert audit_log.orphaned_intents() == []
    recovered = audit_log.last_change("Node/gpu-node-1")
    assert recovered is not None and recovered["recovered"] is True and recovered["action"] == "relabelled"
    assert recovered["message"].endswith("(recovered)")


def test_intent_of_a_killed_process_is_orphaned(db_path: Path) -> None:
    """An intent written by a process that was then SIGKILLed is orphaned for the next writer."""
    script = textwrap.dedent(f"""
        import os, signal
        from audit_testkit import node_change
        from reconciler.audit import SqliteAuditLog
        from schemas.results import RevisionInfo, Trigger
        log = SqliteAuditLog({str(db_path)!r})
        rid = log.begin(RevisionInfo("abc123"), Trigger.COMMIT)
        log.intent(rid, node_change(1), {CHECK!r})
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    path = [str(Path(__file__).parent), *sys.path]
    env = {"PYTHONPATH": ":".join(path)}
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    with SqliteAuditLog(db_path) as log:
        [orphan] = log.orphaned_intents()
        assert orphan.content["object"] == "Node/gpu-node-1"


def test_verify_fails_on_an_intent_a_later_reconcile_left_unsettled(
    audit_log: SqliteAuditLog, db_path: Path
) -> None:
    """An intent still without outcome after a later reconcile succeeded is an unrecorded write."""
    rid = begin(audit_log)
    audit_log.intent(rid, node_change(1), CHECK)
    later = begin(audit_log)
    audit_log.end(later, ReconcileOutcome.SUCCEEDED)
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
    assert result.problem is not None and result.problem.tampering is Tampering.UNSETTLED
    assert result.problem.seq == 2


def test_outcome_written_after_a_later_reconcile_is_not_an_error(
    audit_log: SqliteAuditLog, db_path: Path
) -> None:
    """A second writer's pass may finish while the first still writes: its late outcome counts."""
    rid = begin(audit_log)
    intent_id = audit_log.intent(rid, node_change(1), CHECK)
    later = begin(audit_log)
    audit_log.end(later, ReconcileOutcome.SUCCEEDED)
    audit_log.change(rid, node_change(1), intent_id=intent_id)
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
    assert result.ok and result.open_intents == 0


@pytest.mark.parametrize("twice", [True, False])
def test_verify_fails_on_a_second_or_unannounced_outcome(
    audit_log: SqliteAuditLog, db_path: Path, twice: bool
) -> None:
    """A write recorded twice for one intent, or an outcome naming no intent, fails verify."""
    rid = begin(audit_log)
    intent_id = audit_log.intent(rid, node_change(1), CHECK) if twice else "f" * 32
    audit_log.change(rid, node_change(1), intent_id=intent_id)
    if twice:
        audit_log.change(rid, node_change(1), intent_id=intent_id)
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
    expected = Tampering.DOUBLE_OUTCOME if twice else Tampering.UNANNOUNCED
    assert result.problem is not None and result.problem.tampering is expected


def test_audit_log_shows_intent_and_outcome_as_one_line(audit_log: SqliteAuditLog, db_path: Path) -> None:
    """`audit log` prints a settled intent only through its outcome's line; an open one shows as open."""
    rid = begin(audit_log)
    first = audit_log.intent(rid, node_change(1), CHECK)
    audit_log.change(rid, node_change(1), intent_id=first)
    audit_log.intent(rid, node_change(2), CHECK)
    result = runner.invoke(app, ["audit", "log", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert "relabelled" in lines[1] and "Node/gpu-node-1" in lines[1] and "(intent #2)" in lines[1]
    assert "intends" in lines[2] and "Node/gpu-node-2" in lines[2] and "no outcome recorded yet" in lines[2]
    verified = runner.invoke(app, ["audit", "verify", "--db", str(db_path)])
    assert verified.exit_code == 0 and "1 write(s) announced, not yet recorded" in verified.output


def test_version_1_database_migrates_and_still_verifies(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log written with schema version 1 opens, migrates to the intent schema, verifies
    (read-only as well) and takes intents afterwards."""
    with monkeypatch.context() as old:
        old.setattr(audit_schema, "MIGRATIONS", audit_schema.MIGRATIONS[:1])
        old.setattr(audit_schema, "SCHEMA_VERSION", 1)
        with SqliteAuditLog(db_path) as log:
            rid = begin(log)
            log.change(rid, node_change(1))
            log.end(rid, ReconcileOutcome.SUCCEEDED)
    with AuditReader(db_path) as reader:
        assert audit_schema.schema_version(reader._conn) == 1
        assert verify_chain(reader).ok
    with SqliteAuditLog(db_path) as log:
        rid = begin(log)
        log.change(rid, node_change(2), intent_id=log.intent(rid, node_change(2), CHECK))
        log.end(rid, ReconcileOutcome.SUCCEEDED)
    with AuditReader(db_path) as reader:
        assert audit_schema.schema_version(reader._conn) == audit_schema.SCHEMA_VERSION == 2
        result = verify_chain(reader)
    assert result.ok and result.count == 7 and result.open_intents == 0


def test_a_refused_eviction_retried_has_one_intent_and_one_void(
    audit_log: SqliteAuditLog, db_path: Path
) -> None:
    """An eviction a PDB refuses on every poll of a pass: one intent, voided once when the pass
    ends (not an intent per retry); one that lands on a later try is its intent's outcome."""
    from reconciler.apply.recorder import ChangeRecorder
    from schemas.refs import ObjectRef
    from schemas.results import Action, ChangeEntry

    rid = begin(audit_log)
    recorder = ChangeRecorder(audit_log, rid)
    blocked = ChangeEntry(ObjectRef("", "Pod", "team-a", "blocked"), Action.EVICTED)
    landed = ChangeEntry(ObjectRef("", "Pod", "team-a", "landed"), Action.EVICTED)
    check = {"how": "gone", "apiVersion": "v1"}
    for _ in range(5):
        recorder.intend(blocked, check, "evict")
        recorder.refused(blocked.ref)
    recorder.intend(landed, check, "evict")
    recorder.refused(landed.ref)
    recorder.intend(landed, check, "evict")
    recorder.record(landed)
    recorder.end()
    audit_log.end(rid, ReconcileOutcome.SUCCEEDED)
    with AuditReader(db_path) as reader:
        entries = [e.content for e in reader.entries()]
        result = verify_chain(reader)
    types = [(e["type"], e.get("object")) for e in entries if e["type"] != "reconcile-start"]
    assert types.count(("intent", "Pod/team-a/blocked")) == 1
    assert types.count(("intent-void", None)) + types.count(("intent-void", "Pod/team-a/blocked")) == 1
    assert types.count(("intent", "Pod/team-a/landed")) == 1
    assert types.count(("change", "Pod/team-a/landed")) == 1
    assert result.ok and result.open_intents == 0
