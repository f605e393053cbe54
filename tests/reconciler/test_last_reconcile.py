"""The in-cluster record of the last reconcile (against the in-memory cluster): what it holds,
when it is written (a pass that wrote, or a changed verdict; never a no-op pass), the cluster
id of the per-cluster state directory, and the PersistentVolumeClaim health check."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.apply.inventory_store import RECORD_ANNOTATION
from reconciler.cluster.identity import cluster_id
from reconciler.errors import TerminalError
from reconciler.health.assess import assess
from reconciler.last_reconcile import LastReconcile, record_of
from reconciler.pipeline import ReconcileOptions, ReconcileResult, reconcile
from reconciler.planning.inventory import INVENTORY_NAME
from reconciler.testing import FakeCluster, ManualClock, desired_state
from schemas.refs import ObjectRef
from schemas.results import HealthCode, Operator, RevisionInfo

INVENTORY = ObjectRef("", "ConfigMap", "gpuctl-system", INVENTORY_NAME)
OBJECTS: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ml"},
     "data": {"k": "v"}},
]


def _run(cluster: FakeCluster, objects: list[dict[str, Any]], sha: str = "abc") -> ReconcileResult:
    revision = RevisionInfo(sha, author="dev", message="change\nbody", operator=Operator("alice", "bob"))
    return reconcile(desired_state(objects), cluster, clock=ManualClock(), revision=revision,
                     options=ReconcileOptions())  # fmt: skip


def _record(cluster: FakeCluster) -> LastReconcile:
    notes = cluster.objects[INVENTORY]["metadata"].get("annotations") or {}
    record = record_of(notes.get(RECORD_ANNOTATION))
    assert record is not None
    return record


def test_first_pass_records_revision_result_counts_and_operator() -> None:
    """The inventory ConfigMap carries the pass's revision, result, counts and operator."""
    cluster = FakeCluster()
    _run(cluster, OBJECTS)
    record = _record(cluster)
    assert (record.revision, record.result, record.message) == ("abc", "succeeded", "change")
    assert (record.kube_user, record.os_user, record.author) == ("alice", "bob", "dev")
    assert record.counts["created"] >= 3 and record.error is None


def test_noop_pass_writes_nothing_and_keeps_the_record() -> None:
    """A second pass of the same revision makes zero writes; the record stays the first pass's."""
    cluster = FakeCluster()
    _run(cluster, OBJECTS)
    first, before = _record(cluster), list(cluster.writes)
    _run(cluster, OBJECTS)
    assert cluster.writes == before and _record(cluster) == first


def test_new_revision_without_changes_updates_only_the_record() -> None:
    """A new revision that changes no object still updates the record (one write, the record)."""
    cluster = FakeCluster()
    _run(cluster, OBJECTS)
    before = len(cluster.writes)
    result = _run(cluster, OBJECTS, sha="def")
    assert not result.changes.changed()
    assert [str(ref) for _, ref in cluster.writes[before:]] == [str(INVENTORY)]
    assert (_record(cluster).revision, _record(cluster).result) == ("def", "noop")


def test_a_changing_pass_updates_the_record_and_keeps_the_inventory() -> None:
    """A pass that writes replaces the record; the inventory data is kept beside it."""
    cluster = FakeCluster()
    _run(cluster, OBJECTS)
    changed = [OBJECTS[0], {**OBJECTS[1], "data": {"k": "w"}}]
    _run(cluster, changed, sha="ghi")
    assert _record(cluster).revision == "ghi" and _record(cluster).counts.get("configured") == 1
    assert "v1|ConfigMap|ml|a" in cluster.objects[INVENTORY]["data"]["inventory"]


def test_unreadable_record_is_a_clear_error() -> None:
    """A record that is not gpuctl's JSON names the annotation and what would fix it."""
    with pytest.raises(TerminalError, match=f"{RECORD_ANNOTATION} is not a gpuctl reconcile record"):
        record_of("{not json")


def test_cluster_id_from_the_api_server_url() -> None:
    """The id is host-port-digest, directory-safe, stable, and differs per URL path."""
    assert cluster_id("https://127.0.0.1:6443") == cluster_id("https://127.0.0.1:6443/")
    assert cluster_id("https://API.example.com").startswith("api.example.com-443-")
    assert cluster_id("https://[::1]:6443").startswith("1-6443-")
    assert cluster_id("https://proxy/k8s/a") != cluster_id("https://proxy/k8s/b")
    assert all(c.isalnum() or c in ".-" for c in cluster_id("http://h_st:80/x y"))


@pytest.mark.parametrize(
    ("phase", "code"),
    [("Bound", HealthCode.HEALTHY), ("Pending", HealthCode.PROGRESSING), ("Lost", HealthCode.DEGRADED)],
)
def test_persistent_volume_claim_health(phase: str, code: HealthCode) -> None:
    """A PVC is healthy when Bound, progressing when Pending, degraded when Lost (as Argo CD)."""
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
             "status": {"phase": phase}}  # fmt: skip
    assert assess(ObjectRef("", "PersistentVolumeClaim", "ns", "c"), claim).code is code
