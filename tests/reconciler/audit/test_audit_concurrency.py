"""Several writers on one audit file: separate connections and separate processes append
to one valid chain, because each append re-reads the head inside its write transaction."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from audit_testkit import node_change

from reconciler.audit import SqliteAuditLog
from reconciler.audit.query import AuditReader
from reconciler.audit.verification import verify_chain
from schemas.results import ReconcileOutcome, RevisionInfo, Trigger

REPO_ROOT = Path(__file__).resolve().parents[3]

_WRITER = """
import sys, time
from pathlib import Path
from reconciler.audit import SqliteAuditLog
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger

db, go, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
reconciles, changes = int(sys.argv[4]), int(sys.argv[5])
log = SqliteAuditLog(db)
(go.parent / f"ready-{name}").touch()
while not go.exists():
    time.sleep(0.005)
for r in range(reconciles):
    rid = log.begin(RevisionInfo(f"{name}-{r}"), Trigger.POLL)
    for i in range(changes):
        log.change(rid, ChangeEntry(ObjectRef("", "Node", "", f"{name}-node-{i}"), Action.RELABELLED))
    log.end(rid, ReconcileOutcome.SUCCEEDED)
log.close()
"""


def test_two_connections_interleaving_keep_one_chain(db_path: Path) -> None:
    """Two stores on one file, appending alternately, never chain from a stale head."""
    with SqliteAuditLog(db_path) as first, SqliteAuditLog(db_path) as second:
        a = first.begin(RevisionInfo("a"), Trigger.COMMIT)
        b = second.begin(RevisionInfo("b"), Trigger.COMMIT)
        for i in range(10):
            first.change(a, node_change(i))
            second.change(b, node_change(100 + i))
        second.end(b, ReconcileOutcome.SUCCEEDED)
        first.end(a, ReconcileOutcome.SUCCEEDED)
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
        summaries = {s.revision["sha"]: s.changes for s in reader.reconciles()}
    assert result.ok
    assert result.count == 24
    assert summaries == {"a": 10, "b": 10}


@pytest.mark.slow
def test_two_processes_appending_keep_a_valid_chain(tmp_path: Path, db_path: Path) -> None:
    """Two processes appending at the same time: every entry lands once, the chain verifies."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    SqliteAuditLog(db_path).close()  # create the schema once, as the daemon would at start
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(db_path), str(go), name, "4", "50"], env=env)
        for name in ("alpha", "beta")
    ]
    # Both have imported and opened the database: release them together.
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{name}").exists() for name in ("alpha", "beta")):
        assert time.monotonic() < deadline and all(w.poll() is None for w in writers), "writers did not start"
        time.sleep(0.01)
    go.touch()
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    with AuditReader(db_path) as reader:
        result = verify_chain(reader)
        summaries = reader.reconciles(limit=100)
    assert result.ok, result.problem
    assert result.count == 2 * 4 * 52
    assert sorted(s.revision["sha"] for s in summaries) == sorted(
        f"{name}-{r}" for name in ("alpha", "beta") for r in range(4)
    )
    assert all(s.changes == 50 and s.outcome == "succeeded" for s in summaries)
