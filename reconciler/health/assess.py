"""Assessor lookup by (API group, kind), the aggregate of many statuses (the worst one, as in
Argo CD), and a bounded wait: poll until everything is healthy, something degrades (fail
fast, as Flux does on Stalled) or the timeout passes — a wait never hangs forever."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.health import ml, platform, workloads
from reconciler.health.conditions import KubeObject
from reconciler.protocols import Clock, ClusterClient
from schemas.refs import ObjectRef
from schemas.results import HealthCode, HealthStatus

Assessor = Callable[[KubeObject], HealthStatus]

ASSESSORS: dict[tuple[str, str], Assessor] = {
    ("apps", "Deployment"): workloads.deployment,
    ("apps", "StatefulSet"): workloads.statefulset,
    ("apps", "DaemonSet"): workloads.daemonset,
    ("batch", "Job"): workloads.job,
    ("", "PersistentVolumeClaim"): workloads.persistent_volume_claim,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): platform.crd,
    ("", "Node"): platform.node,
    ("nvidia.com", "ClusterPolicy"): platform.cluster_policy,
    ("ray.io", "RayCluster"): ml.ray_cluster,
    ("kubeflow.org", "PyTorchJob"): ml.pytorch_job,
    ("kueue.x-k8s.io", "ClusterQueue"): ml.cluster_queue,
}


def assess(ref: ObjectRef, obj: KubeObject | None) -> HealthStatus:
    """The health of one object; kinds without an assessor are healthy once they exist."""
    if obj is None:
        return HealthStatus(HealthCode.MISSING, "not found in the cluster")
    assessor = ASSESSORS.get((ref.group, ref.kind))
    if assessor is None:
        return HealthStatus(HealthCode.HEALTHY)
    try:
        return assessor(obj)
    except (TypeError, ValueError) as exc:
        return HealthStatus(HealthCode.UNKNOWN, f"unreadable status: {exc}")


def aggregate(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The worst status (Healthy < Suspended < Progressing < Missing < Degraded < Unknown)."""
    worst = HealthStatus(HealthCode.HEALTHY)
    for one in statuses:
        if one.code.is_worse(worst.code):
            worst = one
    return worst


@dataclass
class HealthReport:
    statuses: dict[ObjectRef, HealthStatus]
    timed_out: bool = False

    @property
    def overall(self) -> HealthStatus:
        return aggregate(self.statuses.values())


def snapshot_health(client: ClusterClient, targets: dict[ObjectRef, str]) -> dict[ObjectRef, HealthStatus]:
    """Assess every target (ref → apiVersion) with one LIST per kind."""
    by_kind: dict[tuple[str, str], list[ObjectRef]] = {}
    for ref, api_version in targets.items():
        by_kind.setdefault((api_version, ref.kind), []).append(ref)
    result: dict[ObjectRef, HealthStatus] = {}
    for (api_version, kind), refs in sorted(by_kind.items()):
        live = (
            {ObjectRef.of(o): o for o in client.list_objects(api_version, kind)}
            if client.has_kind(api_version, kind)
            else {}
        )
        for ref in refs:
            result[ref] = assess(ref, live.get(ref))
    return result


def wait_healthy(
    client: ClusterClient,
    targets: dict[ObjectRef, str],
    clock: Clock,
    *,
    timeout: float,
    poll: float = 1.0,
) -> HealthReport:
    """Poll until all targets are Healthy or Suspended, one is Degraded, or `timeout` passes."""
    deadline = clock.now() + timeout
    while True:
        statuses = snapshot_health(client, targets)
        worst = aggregate(statuses.values()).code
        if worst <= HealthCode.SUSPENDED or worst >= HealthCode.DEGRADED:
            return HealthReport(statuses)
        if clock.now() >= deadline:
            return HealthReport(statuses, timed_out=True)
        clock.sleep(min(poll, max(0.0, deadline - clock.now())))
