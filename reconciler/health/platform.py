"""Health of cluster and GPU platform kinds: CustomResourceDefinition (Established), Node
(Ready, MIG manager state, cordon, gpuctl rollout), GPU Operator ClusterPolicy."""

from __future__ import annotations

from reconciler.health.conditions import KubeObject, condition, is_false, is_true, reason, status
from schemas.results import HealthCode, HealthStatus

MIG_STATE = "nvidia.com/mig.config.state"
ROLLOUT_PHASE = "gpuctl.dev/rollout-phase"
ROLLOUT_FAILURE = "gpuctl.dev/rollout-failure"


def crd(obj: KubeObject) -> HealthStatus:
    if is_false(obj, "NamesAccepted"):
        return HealthStatus(HealthCode.DEGRADED, reason(obj, "NamesAccepted"))
    if is_true(obj, "Established"):
        return HealthStatus(HealthCode.HEALTHY)
    return HealthStatus(HealthCode.PROGRESSING, "waiting for the CRD to be established")


def node(obj: KubeObject) -> HealthStatus:
    meta = obj.get("metadata") or {}
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    ready = condition(obj, "Ready")
    if ready is not None and ready.get("status") != "True":
        return HealthStatus(
            HealthCode.DEGRADED, f"node not ready: {ready.get('message') or ready.get('reason', '')}"
        )
    if notes.get(ROLLOUT_PHASE) == "failed":
        return HealthStatus(HealthCode.DEGRADED, f"GPU rollout failed: {notes.get(ROLLOUT_FAILURE, '')}")
    state = labels.get(MIG_STATE)
    if state == "failed":
        return HealthStatus(HealthCode.DEGRADED, "MIG manager reported failed")
    if state in ("pending", "rebooting"):
        return HealthStatus(HealthCode.PROGRESSING, f"MIG reconfiguration {state}")
    if notes.get(ROLLOUT_PHASE):
        return HealthStatus(HealthCode.PROGRESSING, f"GPU rollout {notes[ROLLOUT_PHASE]}")
    if (obj.get("spec") or {}).get("unschedulable"):
        return HealthStatus(HealthCode.SUSPENDED, "node is cordoned")
    return HealthStatus(HealthCode.HEALTHY)


def cluster_policy(obj: KubeObject) -> HealthStatus:
    """GPU Operator ClusterPolicy: `status.state` is ready, notReady, ignored or disabled."""
    state = status(obj).get("state")
    if state == "ready":
        return HealthStatus(HealthCode.HEALTHY)
    if state in ("ignored", "disabled"):
        return HealthStatus(HealthCode.SUSPENDED, f"ClusterPolicy state {state}")
    if is_true(obj, "Error"):
        return HealthStatus(HealthCode.DEGRADED, reason(obj, "Error"))
    if state == "notReady":
        return HealthStatus(HealthCode.PROGRESSING, "GPU Operator components are not ready yet")
    return HealthStatus(HealthCode.PROGRESSING, "waiting for the GPU Operator to report status")
