"""Reading the log: the filters of `gpuctl audit log` and the summaries of `gpuctl status`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from audit_testkit import RecordReconcile, SteppingClock, node_change

from reconciler.audit import SqliteAuditLog
from reconciler.audit.query import AuditReader, EntryFilter
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger

MIG_CONFIGMAP = ObjectRef("", "ConfigMap", "gpu-operator", "default-mig-parted-config")


def _seqs(db_path: Path, where: EntryFilter) -> list[int]:
    with AuditReader(db_path) as reader:
        return [entry.seq for entry in reader.entries(where)]


def test_since_filter_uses_entry_time(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """--since keeps entries recorded at or after the instant (the clock steps 1 s per entry)."""
    record_reconcile()  # entries at 12:00:00 … 12:00:03
    record_reconcile()  # entries at 12:00:04 … 12:00:07
    since = datetime(2026, 11, 1, 12, 0, 5, tzinfo=UTC)
    assert _seqs(db_path, EntryFilter(since=since)) == [6, 7, 8]
    assert _seqs(db_path, EntryFilter(since=datetime(2027, 1, 1, tzinfo=UTC))) == []


def test_object_filter_matches_canonical_reference(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """--object returns the changes of exactly that Kind/namespace/name or Kind/name."""
    cm_change = ChangeEntry(
        MIG_CONFIGMAP, Action.CONFIGURED, [{"op": "replace", "path": "/data/x", "value": "y"}]
    )
    record_reconcile(changes=[node_change(1), cm_change])
    record_reconcile(changes=[node_change(2), node_change(1)])
    assert _seqs(db_path, EntryFilter(object_ref="Node/gpu-node-1")) == [2, 7]
    assert _seqs(db_path, EntryFilter(object_ref="ConfigMap/gpu-operator/default-mig-parted-config")) == [3]
    assert _seqs(db_path, EntryFilter(object_ref="ConfigMap/default-mig-parted-config")) == []


def test_revision_filter_matches_sha_prefix(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """--revision returns every entry of the reconciles of revisions starting with REV."""
    record_reconcile(sha="aaaa1111")
    record_reconcile(sha="bbbb2222")
    record_reconcile(sha="aaaa3333")
    assert _seqs(db_path, EntryFilter(revision="bbbb")) == [5, 6, 7, 8]
    assert _seqs(db_path, EntryFilter(revision="aaaa")) == [1, 2, 3, 4, 9, 10, 11, 12]
    assert _seqs(db_path, EntryFilter(revision="aaaa3333")) == [9, 10, 11, 12]
    assert _seqs(db_path, EntryFilter(revision="cccc")) == []


def test_filters_combine(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """Object and revision filters together keep only that object's changes in that revision."""
    record_reconcile(sha="aaaa1111", changes=[node_change(1)])
    record_reconcile(sha="bbbb2222", changes=[node_change(1), node_change(2)])
    assert _seqs(db_path, EntryFilter(object_ref="Node/gpu-node-1", revision="bbbb")) == [5]


def test_reconcile_summaries_newest_first(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """Summaries list the newest reconciles first, with outcome, error and change count."""
    record_reconcile(sha="first")
    record_reconcile(sha="second", outcome=ReconcileOutcome.FAILED, error="drain timed out", changes=[])
    with AuditReader(db_path) as reader:
        summaries = reader.reconciles(limit=10)
        last_applied = reader.last_applied()
    assert [s.revision["sha"] for s in summaries] == ["second", "first"]
    assert (summaries[0].outcome, summaries[0].error, summaries[0].changes) == (
        "failed",
        "drain timed out",
        0,
    )
    assert summaries[1].changes == 2
    assert last_applied is not None
    assert last_applied.revision["sha"] == "first"
    assert last_applied.started_at < (last_applied.finished_at or "")


def test_unfinished_reconcile_is_listed_without_outcome(db_path: Path, clock: SteppingClock) -> None:
    """A reconcile that began but never ended (a crash) shows up with no outcome."""
    with SqliteAuditLog(db_path, clock=clock) as log:
        log.begin(RevisionInfo("crashed"), Trigger.STARTUP)
    with AuditReader(db_path) as reader:
        (summary,) = reader.reconciles()
        assert reader.last_applied() is None
    assert (summary.revision["sha"], summary.outcome, summary.finished_at) == ("crashed", None, None)


def test_summaries_are_limited(db_path: Path, record_reconcile: RecordReconcile) -> None:
    """Only the requested number of reconciles is returned."""
    for i in range(12):
        record_reconcile(sha=f"rev{i:02d}", changes=[])
    with AuditReader(db_path) as reader:
        summaries = reader.reconciles(limit=10)
    assert [s.revision["sha"] for s in summaries] == [f"rev{i:02d}" for i in range(11, 1, -1)]
