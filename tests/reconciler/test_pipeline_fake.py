"""One reconcile pass against the in-memory cluster: apply order, zero-write no-op, drift,
opt-outs, pruning guards and the audit calls."""

from __future__ import annotations

from typing import Any

from reconciler.pipeline import ReconcileOptions, ReconcileResult, reconcile
from reconciler.planning.inventory import INVENTORY_NAME
from reconciler.testing import FakeCluster, ManualClock, RecordingAuditSink, desired_state
from schemas.refs import ObjectRef
from schemas.results import Action, ReconcileOutcome, RevisionInfo


def _ns(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _cm(name: str, ns: str = "ml", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def _quota(ns: str = "ml") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "gpus", "namespace": ns},
        "spec": {"hard": {"requests.nvidia.com/gpu": "16"}},
    }


def _run(
    cluster: FakeCluster, objects: list[dict[str, Any]], sink: RecordingAuditSink | None = None, **opts: Any
) -> ReconcileResult:
    return reconcile(
        desired_state(objects),
        cluster,
        clock=ManualClock(),
        revision=RevisionInfo("abc", author="dev", message="change"),
        audit=sink,
        options=ReconcileOptions(**opts),
    )


OBJECTS = [_cm("settings", team="a"), _quota(), _ns("ml")]


def test_first_pass_applies_in_stage_order_and_records_each_write() -> None:
    """Namespace, then config, then quota (the render stage table); every write is audited in order."""
    cluster, sink = FakeCluster(), RecordingAuditSink()
    result = _run(cluster, OBJECTS, sink)
    assert result.outcome is ReconcileOutcome.SUCCEEDED
    applied = [ref for verb, ref in cluster.writes if verb == "apply"]
    assert applied[:3] == ["Namespace/ml", "ConfigMap/ml/settings", "ResourceQuota/ml/gpus"]
    recorded = [str(e.ref) for e in sink.all_changes()]
    assert recorded == applied
    [record] = sink.reconciles.values()
    assert record.outcome is ReconcileOutcome.SUCCEEDED and record.revision.author == "dev"


def test_second_pass_makes_zero_writes() -> None:
    """An unchanged revision reconciles with no write at all and a noop audit outcome."""
    cluster = FakeCluster()
    _run(cluster, OBJECTS)
    before = list(cluster.writes)
    sink = RecordingAuditSink()
    result = _run(cluster, OBJECTS, sink)
    assert cluster.writes == before
    assert result.outcome is ReconcileOutcome.NOOP
    assert sink.all_changes() == []


def test_drift_is_reverted() -> None:
    """A field changed in the cluster is set back to the desired value."""
    cluster = FakeCluster()
    _run(cluster, OBJECTS)
    cluster.objects[ObjectRef("", "ConfigMap", "ml", "settings")]["data"]["team"] = "drifted"
    result = _run(cluster, OBJECTS)
    assert cluster.objects[ObjectRef("", "ConfigMap", "ml", "settings")]["data"]["team"] == "a"
    [entry] = result.changes.changed()
    assert entry.action is Action.CONFIGURED
    assert {"op": "replace", "path": "/data/team", "value": "a"} in entry.patch


def test_reconcile_disabled_annotation_skips_the_object() -> None:
    """`gpuctl.dev/reconcile: disabled` on the live object: no write, reported as skipped."""
    cluster = FakeCluster()
    _run(cluster, OBJECTS)
    live = cluster.objects[ObjectRef("", "ConfigMap", "ml", "settings")]
    live["metadata"]["annotations"]["gpuctl.dev/reconcile"] = "disabled"
    live["data"]["team"] = "hand-edited"
    result = _run(cluster, OBJECTS)
    assert live["data"]["team"] == "hand-edited"
    assert [e.action for e in result.changes.entries if e.ref.name == "settings"] == [Action.SKIPPED]


def test_dry_run_writes_nothing_and_reports_changes() -> None:
    """apply --dry-run reports what would be created and writes nothing, audit untouched."""
    cluster, sink = FakeCluster(), RecordingAuditSink()
    result = _run(cluster, OBJECTS, sink, dry_run=True)
    assert cluster.writes == [] and sink.reconciles == {}
    assert {e.action for e in result.changes.changed()} == {Action.CREATED}


def test_prune_deletes_only_inventory_objects_no_longer_desired() -> None:
    """An object dropped from Git is deleted; a look-alike gpuctl never applied stays."""
    cluster = FakeCluster([_cm("foreign", team="x")])
    _run(cluster, OBJECTS)
    result = _run(cluster, [o for o in OBJECTS if o["kind"] != "ConfigMap"], prune=True)
    assert ("delete", "ConfigMap/ml/settings") in cluster.writes
    assert ObjectRef("", "ConfigMap", "ml", "foreign") in cluster.objects
    assert next(e.action for e in result.changes.changed()) is Action.DELETED
    inventory = cluster.objects[ObjectRef("", "ConfigMap", "gpuctl-system", INVENTORY_NAME)]["data"][
        "inventory"
    ]
    assert "settings" not in inventory


def test_prune_disabled_annotation_keeps_the_object() -> None:
    """`gpuctl.dev/prune: disabled` keeps an object out of pruning (and out of the inventory)."""
    cluster = FakeCluster()
    annotated = _cm("keep", team="a")
    annotated["metadata"]["annotations"] = {"gpuctl.dev/prune": "disabled"}
    _run(cluster, [*OBJECTS, annotated])
    _run(cluster, OBJECTS, prune=True)
    assert ObjectRef("", "ConfigMap", "ml", "keep") in cluster.objects


def test_namespace_with_foreign_objects_is_not_pruned() -> None:
    """A Namespace holding an object gpuctl did not apply survives its removal from Git."""
    cluster = FakeCluster()
    _run(cluster, [_ns("team"), _cm("ours", "team")])
    cluster.put(_cm("theirs", "team"))
    result = _run(cluster, [_ns("other")], prune=True)
    assert ObjectRef("", "Namespace", "", "team") in cluster.objects
    assert ObjectRef("", "ConfigMap", "team", "ours") not in cluster.objects
    [skip] = [e for e in result.changes.entries if e.ref.kind == "Namespace" and e.ref.name == "team"]
    assert skip.action is Action.SKIPPED and "ConfigMap/team/theirs" in skip.message


def test_empty_revision_refuses_to_prune_everything() -> None:
    """A revision rendering to nothing prunes nothing unless --allow-empty."""
    cluster = FakeCluster()
    _run(cluster, OBJECTS)
    refused = _run(cluster, [], prune=True)
    assert refused.outcome is ReconcileOutcome.FAILED and "--allow-empty" in (refused.error or "")
    assert ObjectRef("", "Namespace", "", "ml") in cluster.objects
    allowed = _run(cluster, [], prune=True, allow_empty=True)
    assert allowed.outcome is ReconcileOutcome.SUCCEEDED
    assert ObjectRef("", "Namespace", "", "ml") not in cluster.objects


def test_nodes_are_never_pruned_or_applied_from_manifests() -> None:
    """A Node manifest is ignored by apply, so pruning can never reach a Node."""
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n0", "labels": {"x": "1"}}}
    cluster = FakeCluster([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n0"}}])
    _run(cluster, [node, *OBJECTS], prune=True)
    assert "labels" not in cluster.objects[ObjectRef("", "Node", "", "n0")]["metadata"]


def test_crds_are_pruned_only_when_allowed() -> None:
    """A CRD dropped from Git is kept (skipped) unless CRD pruning is asked for."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.org"},
        "spec": {"group": "example.org", "names": {"kind": "Widget"}, "versions": [{"name": "v1"}]},
        "status": {"conditions": [{"type": "Established", "status": "True"}]},
    }
    cluster = FakeCluster()
    _run(cluster, [*OBJECTS, crd])
    kept = _run(cluster, OBJECTS, prune=True)
    ref = ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.org")
    assert ref in cluster.objects
    assert [e.action for e in kept.changes.entries if e.ref == ref] == [Action.SKIPPED]
    _run(cluster, OBJECTS, prune=True, allow_crd_prune=True)
    assert ref not in cluster.objects


def test_node_in_two_pools_fails_the_pass_naming_the_node() -> None:
    """Two pools selecting the same node: the pass fails and names the node; nothing is relabelled."""
    from tests.reconciler.rollout_fixtures import node, pool

    first, second = pool("a"), pool("b")
    second = second.model_copy(update={"spec": first.spec})
    cluster = FakeCluster([node("gpu-0", "a")])
    result = reconcile(
        desired_state(OBJECTS, pools=[first, second]),
        cluster,
        clock=ManualClock(),
        revision=RevisionInfo("abc"),
        options=ReconcileOptions(),
    )
    assert result.outcome is ReconcileOutcome.FAILED
    assert "Node/gpu-0" in (result.error or "") and "GPUNodePools a, b" in (result.error or "")
    assert not [w for w in cluster.writes if "Node/" in w[1]]
