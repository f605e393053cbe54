"""Settling write-ahead intents from the cluster (reconciler.apply.intents) against a real
SQLite audit log: each write kind's check tells a landed write from one that never reached
the cluster, and an orphaned intent is recorded once, as recovered or as not done."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.apply.intents import (
    NOT_DONE,
    applied,
    deleted,
    evicted,
    landed,
    node_patched,
    settle_orphaned_intents,
)
from reconciler.apply.recorder import ChangeRecorder
from reconciler.audit import AuditReader, SqliteAuditLog, verify_chain
from reconciler.planning.compare import DIGEST_ANNOTATION
from reconciler.rollout.progress import Phase, clear_patch, phase_patch
from reconciler.rollout.steps import node_ref
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger

TARGET = {"nvidia.com/mig.config": "all-1g.10gb"}


def configmap(rv: str, digest: str | None, uid: str = "u1") -> dict[str, Any]:
    notes = {DIGEST_ANNOTATION: digest} if digest else {}
    meta = {"name": "c", "namespace": "ns", "resourceVersion": rv, "uid": uid, "annotations": notes}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def test_apply_check_needs_the_sent_digest_and_a_new_version() -> None:
    """A server-side apply landed when the object carries the sent digest in a version other
    than the one seen before; a create landed once the object exists with that digest."""
    before = configmap("5", "old")
    check = applied("v1", before, configmap("", "new"))
    assert not landed(check, before)
    assert landed(check, configmap("6", "new"))
    assert not landed(applied("v1", None, configmap("", "new")), None)
    assert landed(applied("v1", None, configmap("", "new")), configmap("1", "new"))
    drift_fix = applied("v1", configmap("5", "same"), configmap("", "same"))
    assert not landed(drift_fix, configmap("5", "same")) and landed(drift_fix, configmap("7", "same"))


def test_delete_and_evict_checks() -> None:
    """A delete landed when the object is gone or terminating; an eviction when the pod is
    gone, terminating, or replaced by another pod of the same name."""
    pod = configmap("3", None, uid="pod-1")
    assert landed(deleted("v1"), None) and not landed(deleted("v1"), pod)
    terminating = {**pod, "metadata": {**pod["metadata"], "deletionTimestamp": "2026-12-04T00:00:00Z"}}
    assert landed(deleted("v1"), terminating)
    check = evicted(pod)
    assert not landed(check, pod) and landed(check, None) and landed(check, terminating)
    assert landed(check, configmap("9", None, uid="pod-2"))


def test_node_patch_check_ignores_labels_others_write_again() -> None:
    """A relabel landed although the MIG manager has already set the state label it cleared;
    an uncordon landed once gpuctl's annotations are gone."""
    patch = phase_patch(Phase.CONFIGURING, TARGET, 10.0, "h100")
    patch["metadata"]["labels"] = {**TARGET, "nvidia.com/mig.config.state": None}
    check = node_patched(patch)
    node = {"metadata": {"name": "n1", "labels": {**TARGET, "nvidia.com/mig.config.state": "success"},
                         "annotations": dict(patch["metadata"]["annotations"])}}
    assert landed(check, node)
    earlier = phase_patch(Phase.DRAINING, TARGET, 5.0, "h100")["metadata"]["annotations"]
    assert not landed(check, {"metadata": {"name": "n1", "labels": {}, "annotations": earlier}})
    uncordon = {**clear_patch(), "spec": {"unschedulable": None}}
    assert not landed(node_patched(uncordon), {"metadata": {"annotations": earlier}, "spec": {}})
    assert landed(node_patched(uncordon), {"metadata": {"annotations": {}}, "spec": {}})


class OneObjectCluster:
    """A cluster read by GET only (every kind served), holding at most one object."""

    def __init__(self, obj: dict[str, Any] | None) -> None:
        self.obj = obj

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        return self.obj

    def has_kind(self, api_version: str, kind: str) -> bool:
        return True


@pytest.mark.parametrize("write_landed", [True, False])
def test_orphaned_intent_is_settled_once_from_the_cluster(tmp_path, write_landed: bool) -> None:
    """An intent its reconcile left open is recorded on the next pass as the change it
    announced (when the cluster shows it) or as not done; a further pass records nothing."""
    ref = ObjectRef("", "ConfigMap", "ns", "c")
    with SqliteAuditLog(tmp_path / "audit.db") as log:
        crashed = log.begin(RevisionInfo("abc"), Trigger.COMMIT)
        recorder = ChangeRecorder(log, crashed)
        recorder.intend(ChangeEntry(ref, Action.CONFIGURED, message="settings"),
                        applied("v1", configmap("5", "old"), configmap("", "new")), "apply")
        log.end(crashed, ReconcileOutcome.FAILED, "interrupted")
        cluster = OneObjectCluster(configmap("6" if write_landed else "5", "new" if write_landed else "old"))
        for _ in range(2):
            rid = log.begin(RevisionInfo("abc"), Trigger.STARTUP)
            recorder = ChangeRecorder(log, rid)
            settle_orphaned_intents(cluster, recorder)  # type: ignore[arg-type]
            log.end(rid, ReconcileOutcome.SUCCEEDED)
    with AuditReader(tmp_path / "audit.db") as reader:
        result = verify_chain(reader)
        kinds = [(e.content["type"], e.content.get("message")) for e in reader.entries()]
    assert result.ok and result.open_intents == 0
    outcomes = [k for k in kinds if k[0] in ("change", "intent-void")]
    if write_landed:
        assert len(outcomes) == 1 and outcomes[0][0] == "change"
        assert "recorded after a restart" in outcomes[0][1]
    else:
        assert outcomes == [("intent-void", NOT_DONE)]


def test_recorder_names_the_intent_in_the_outcome(tmp_path) -> None:
    """`intend` then `record` of the same object stores the outcome under the intent's id;
    `abandon` stores that the write did not happen."""
    with SqliteAuditLog(tmp_path / "audit.db") as log:
        rid = log.begin(RevisionInfo("abc"), Trigger.COMMIT)
        recorder = ChangeRecorder(log, rid)
        cordon = ChangeEntry(node_ref("n1"), Action.CORDONED)
        recorder.intend(cordon, node_patched({"spec": {"unschedulable": True}}), "cordon")
        recorder.record(cordon)
        pod = ObjectRef("", "Pod", "default", "p")
        recorder.intend(ChangeEntry(pod, Action.EVICTED), evicted({"metadata": {"uid": "x"}}), "evict")
        recorder.abandon(pod, "refused")
        log.end(rid, ReconcileOutcome.SUCCEEDED)
    with AuditReader(tmp_path / "audit.db") as reader:
        entries = [e.content for e in reader.entries()]
        assert verify_chain(reader).ok
    intents = {e["intent_id"]: e["object"] for e in entries if e["type"] == "intent"}
    settled = {e["intent_id"]: e["type"] for e in entries if e["type"] in ("change", "intent-void")}
    outcome_of = {intents[i]: kind for i, kind in settled.items()}
    assert outcome_of == {"Node/n1": "change", "Pod/default/p": "intent-void"}
    assert [e["object"] for e in entries if e["type"] == "intent-void"] == ["Pod/default/p"]
