"""Health of the ML-stack kinds: KubeRay RayCluster, Kubeflow PyTorchJob, Kueue ClusterQueue."""

from __future__ import annotations

from reconciler.health.conditions import KubeObject, condition, is_false, is_true, reason, status
from schemas.results import HealthCode, HealthStatus


def ray_cluster(obj: KubeObject) -> HealthStatus:
    if (obj.get("spec") or {}).get("suspend") or is_true(obj, "RayClusterSuspended"):
        return HealthStatus(HealthCode.SUSPENDED, "RayCluster is suspended")
    if is_true(obj, "RayClusterReplicaFailure"):
        return HealthStatus(HealthCode.DEGRADED, reason(obj, "RayClusterReplicaFailure"))
    state = status(obj).get("state")
    if state == "failed":
        return HealthStatus(HealthCode.DEGRADED, str(status(obj).get("reason") or "RayCluster failed"))
    if is_true(obj, "HeadPodReady") and (is_true(obj, "RayClusterProvisioned") or state == "ready"):
        return HealthStatus(HealthCode.HEALTHY)
    if state == "ready" and condition(obj, "HeadPodReady") is None:
        return HealthStatus(HealthCode.HEALTHY)
    return HealthStatus(HealthCode.PROGRESSING, "waiting for the head pod and workers")


def pytorch_job(obj: KubeObject) -> HealthStatus:
    """Kubeflow job conditions: Created, Running, Restarting, Succeeded, Failed, Suspended."""
    if is_true(obj, "Failed"):
        return HealthStatus(HealthCode.DEGRADED, reason(obj, "Failed"))
    if is_true(obj, "Succeeded"):
        return HealthStatus(HealthCode.HEALTHY, "training finished")
    if is_true(obj, "Suspended") or ((obj.get("spec") or {}).get("runPolicy") or {}).get("suspend"):
        return HealthStatus(HealthCode.SUSPENDED, "job is suspended")
    if is_true(obj, "Restarting"):
        return HealthStatus(HealthCode.PROGRESSING, reason(obj, "Restarting"))
    if is_true(obj, "Running"):
        return HealthStatus(HealthCode.PROGRESSING, "training running")
    return HealthStatus(HealthCode.PROGRESSING, "waiting for the training operator")


def cluster_queue(obj: KubeObject) -> HealthStatus:
    if is_true(obj, "Active"):
        return HealthStatus(HealthCode.HEALTHY)
    if is_false(obj, "Active"):
        return HealthStatus(HealthCode.DEGRADED, reason(obj, "Active"))
    return HealthStatus(HealthCode.PROGRESSING, "waiting for Kueue to activate the queue")
