"""Health of the built-in workload kinds (after gitops-engine's checks): Deployment,
StatefulSet, DaemonSet rollouts, Job completion and PersistentVolumeClaim binding."""

from __future__ import annotations

from reconciler.health.conditions import KubeObject, condition, generation_observed, is_true, reason, status
from schemas.results import HealthCode, HealthStatus

HEALTHY = HealthStatus(HealthCode.HEALTHY)


def _progressing(message: str) -> HealthStatus:
    return HealthStatus(HealthCode.PROGRESSING, message)


def deployment(obj: KubeObject) -> HealthStatus:
    spec, st = obj.get("spec") or {}, status(obj)
    if spec.get("paused"):
        return HealthStatus(HealthCode.SUSPENDED, "deployment is paused")
    if not generation_observed(obj):
        return _progressing("waiting for the controller to observe the new generation")
    progressing = condition(obj, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return HealthStatus(
            HealthCode.DEGRADED,
            f"deployment exceeded its progress deadline: {progressing.get('message', '')}",
        )
    want = int(spec.get("replicas", 1))
    updated, total, available = (
        int(st.get(k, 0)) for k in ("updatedReplicas", "replicas", "availableReplicas")
    )
    if updated < want:
        return _progressing(f"{updated} of {want} replicas updated")
    if total > updated:
        return _progressing(f"{total - updated} old replicas pending termination")
    if available < updated:
        return _progressing(f"{available} of {updated} updated replicas available")
    return HEALTHY


def statefulset(obj: KubeObject) -> HealthStatus:
    spec, st = obj.get("spec") or {}, status(obj)
    if not generation_observed(obj):
        return _progressing("waiting for the controller to observe the new generation")
    want = int(spec.get("replicas", 1))
    ready = int(st.get("readyReplicas", 0))
    if ready < want:
        return _progressing(f"{ready} of {want} pods ready")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
        if int(st.get("updatedReplicas", 0)) < want - partition:
            return _progressing(f"{st.get('updatedReplicas', 0)} of {want - partition} pods updated")
        if partition == 0 and st.get("currentRevision") != st.get("updateRevision"):
            return _progressing("rolling update in progress")
    return HEALTHY


def daemonset(obj: KubeObject) -> HealthStatus:
    st = status(obj)
    if not generation_observed(obj):
        return _progressing("waiting for the controller to observe the new generation")
    desired = int(st.get("desiredNumberScheduled", 0))
    updated, available = int(st.get("updatedNumberScheduled", 0)), int(st.get("numberAvailable", 0))
    if updated < desired:
        return _progressing(f"{updated} of {desired} pods updated")
    if available < desired:
        return _progressing(f"{available} of {desired} pods available")
    return HEALTHY


def job(obj: KubeObject) -> HealthStatus:
    if is_true(obj, "Failed"):
        return HealthStatus(HealthCode.DEGRADED, reason(obj, "Failed"))
    if is_true(obj, "Complete"):
        return HealthStatus(HealthCode.HEALTHY, "job completed")
    if (obj.get("spec") or {}).get("suspend"):
        return HealthStatus(HealthCode.SUSPENDED, "job is suspended")
    return _progressing(f"{status(obj).get('active', 0)} pods active")


def persistent_volume_claim(obj: KubeObject) -> HealthStatus:
    """As Argo CD: Bound is healthy, Pending progressing, Lost degraded."""
    phase = status(obj).get("phase")
    if phase == "Bound":
        return HEALTHY
    if phase == "Lost":
        return HealthStatus(HealthCode.DEGRADED, "the claim lost its volume")
    return _progressing(f"claim is {phase or 'Pending'}")
