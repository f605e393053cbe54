"""What counts as drift: someone else's write by managedFields, and a pool Node missing a
label its pool sets."""

from pathlib import Path

from reconciler.cluster.watches import changed_by_gpuctl
from reconciler.daemon.rollout_view import node_drifted
from reconciler.rollout.targets import target_for
from reconciler.source import load_directory


def obj(*entries):
    return {"metadata": {"managedFields": [
        {"manager": m, "operation": op, "time": t, **({"subresource": sub} if sub else {})}
        for m, op, t, sub in entries]}}


def test_gpuctl_newest_write_is_not_drift():
    """The newest non-status write being gpuctl's apply is gpuctl's own change."""
    assert changed_by_gpuctl(obj(("kubectl", "Update", "2026-01-01T00:00:00Z", None),
                                 ("gpuctl", "Apply", "2026-01-01T00:00:05Z", None)))


def test_someone_elses_newer_write_is_drift():
    """A later write by another manager is drift."""
    assert not changed_by_gpuctl(obj(("gpuctl", "Apply", "2026-01-01T00:00:00Z", None),
                                     ("kubectl-edit", "Update", "2026-01-01T00:00:05Z", None)))


def test_status_writes_are_ignored():
    """A controller updating status does not make gpuctl's spec write look foreign."""
    assert changed_by_gpuctl(obj(("gpuctl", "Apply", "2026-01-01T00:00:00Z", None),
                                 ("kube-controller-manager", "Update", "2026-01-01T00:00:09Z", "status")))


def test_same_second_writes_count_as_drift():
    """When another manager wrote in the same second, the change is treated as drift."""
    assert not changed_by_gpuctl(obj(("gpuctl", "Apply", "2026-01-01T00:00:05Z", None),
                                     ("kubectl-edit", "Update", "2026-01-01T00:00:05Z", None)))


def test_objects_without_managed_fields_are_drift_candidates():
    """Without managedFields nothing proves the change was gpuctl's."""
    assert not changed_by_gpuctl({"metadata": {}})


def example_pools():
    state = load_directory(Path(__file__).resolve().parents[2] / "desired_state").state
    return state.pools


def node(labels, annotations=None):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "labels": labels, "annotations": annotations or {}}}


def test_node_with_its_pools_labels_has_not_drifted():
    """A pool node carrying every label its pool sets is in sync."""
    pools = example_pools()
    pool = next(p for p in pools if p.metadata.name == "h100-inference")
    target = target_for(pool)
    labels = {"gpuctl.dev/pool": "h100-inference", **target.labels, **target.disruptive}
    assert not node_drifted(pools, node(labels))
    assert node_drifted(pools, node({**labels, "gpuctl.dev/workload-class": "batch"}))


def test_nodes_mid_rollout_or_outside_pools_never_count_as_drift():
    """A node in a rollout phase, or selected by no pool, is not drift."""
    pools = example_pools()
    assert not node_drifted(pools, node({"gpuctl.dev/pool": "h100-inference"},
                                        {"gpuctl.dev/rollout-phase": "draining"}))
    assert not node_drifted(pools, node({"kubernetes.io/hostname": "cpu-1"}))
