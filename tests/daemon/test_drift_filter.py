"""Telling gpuctl's own writes from someone else's by managedFields."""

from reconciler.cluster.watches import changed_by_gpuctl


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
