"""Unit tests of crash recovery of node writes (reconciler.rollout.recovery) against a real
SQLite audit log: a node further along than its audit trail gets the missing entry once."""

from __future__ import annotations

from reconciler.apply.recorder import ChangeRecorder
from reconciler.audit import SqliteAuditLog
from reconciler.rollout.progress import CORDONED_BY, Phase, phase_patch
from reconciler.rollout.recovery import RECOVERED, record_lost_node_writes
from reconciler.rollout.steps import node_ref
from schemas.results import Action, ChangeEntry, RevisionInfo, Trigger

TARGET = {"nvidia.com/mig.config": "all-1g.10gb"}


def node(name: str, phase: Phase | None, since: float = 10.0, cordoned: bool = True) -> dict:
    notes = {} if phase is None else phase_patch(phase, TARGET, since, "h100")["metadata"]["annotations"]
    if phase is not None and cordoned:
        notes[CORDONED_BY] = "gpuctl"
    return {"metadata": {"name": name, "annotations": notes, "labels": {}},
            "spec": {"unschedulable": True} if cordoned else {}}


def recorder_with(log: SqliteAuditLog) -> ChangeRecorder:
    return ChangeRecorder(log, log.begin(RevisionInfo("abc"), Trigger.STARTUP))


def as_entry(name: str, action: Action, since: float) -> ChangeEntry:
    path = "/metadata/annotations/gpuctl.dev~1rollout-since"
    return ChangeEntry(node_ref(name), action, [{"op": "add", "path": path, "value": f"{since:.3f}"}])


def test_cordon_that_was_never_recorded_is_recorded_once(tmp_path):
    """A draining node whose cordon has no audit entry gets one; a second pass adds none."""
    with SqliteAuditLog(tmp_path / "audit.db") as log:
        nodes = [node("n1", Phase.DRAINING)]
        assert record_lost_node_writes(nodes, log, recorder_with(log)) == 1
        assert record_lost_node_writes(nodes, log, recorder_with(log)) == 0
        last = log.last_change("Node/n1")
    assert last is not None and last["action"] == "cordoned" and last["message"] == RECOVERED


def test_recorded_writes_are_left_alone(tmp_path):
    """Nodes whose newest entry matches their phase and since, or that finished, get nothing."""
    with SqliteAuditLog(tmp_path / "audit.db") as log:
        recorder = recorder_with(log)
        recorder.record(as_entry("n1", Action.RELABELLED, 12.0))
        recorder.record(as_entry("n2", Action.UNCORDONED, 12.0))
        nodes = [node("n1", Phase.CONFIGURING, since=12.0), node("n2", None, cordoned=False),
                 node("n3", None, cordoned=False)]
        assert record_lost_node_writes(nodes, log, recorder_with(log)) == 0


def test_relabel_with_an_older_since_is_a_new_write(tmp_path):
    """An entry from an earlier phase (another since) does not stand for the current one."""
    with SqliteAuditLog(tmp_path / "audit.db") as log:
        recorder_with(log).record(as_entry("n1", Action.CORDONED, 10.0))
        configuring = [node("n1", Phase.CONFIGURING, since=11.0)]
        assert record_lost_node_writes(configuring, log, recorder_with(log)) == 1
        last = log.last_change("Node/n1")
    assert last is not None and last["action"] == "relabelled"
    label = "/metadata/labels/nvidia.com~1mig.config"
    assert {"op": "add", "path": label, "value": "all-1g.10gb"} in last["patch"]


def test_finished_rollout_without_its_uncordon_entry_gets_one(tmp_path):
    """The log ends at relabelled but the node is done and schedulable: uncordoned is recorded;
    still cordoned (someone else's cordon): configured."""
    with SqliteAuditLog(tmp_path / "audit.db") as log:
        recorder = recorder_with(log)
        recorder.record(as_entry("n1", Action.RELABELLED, 10.0))
        recorder.record(as_entry("n2", Action.RELABELLED, 10.0))
        nodes = [node("n1", None, cordoned=False), node("n2", None, cordoned=True)]
        assert record_lost_node_writes(nodes, log, recorder_with(log)) == 2
        actions = [log.last_change("Node/n1")["action"], log.last_change("Node/n2")["action"]]
    assert actions == ["uncordoned", "configured"]
