"""Helpers for the capture tests: GPU pods owned the way each controller owns them, created in a
running sandbox (which runs them for their declared runtime), and a poll helper."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gpuctl.realprep import WORKLOAD_CRD
from sandbox.api.handlers import Request
from sandbox.clock import parse_timestamp
from sandbox.workloads import gpu_pod_manifest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "desired_state"
TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
TRAINING = {"gpuctl.dev/pool": "a100-training"}
INFERENCE = {"gpuctl.dev/pool": "h100-inference"}


def owner(kind: str, name: str, api_version: str) -> dict[str, Any]:
    uid = str(uuid.uuid4())
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True}


def create_pods(
    cluster: Any,
    prefix: str,
    count: int,
    *,
    namespace: str,
    owner_ref: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    resource: str = "nvidia.com/gpu",
    per_pod: int = 1,
    runtime_s: float | None = None,
    pool: dict[str, str] | None = None,
) -> list[str]:
    """Create `count` GPU pods `<prefix>-<i>` in the sandbox; returns their names."""
    cluster.api.ensure_namespaces((namespace,))
    pod_type = cluster.registry.lookup("", "v1", "pods")
    names = []
    for index in range(count):
        manifest = gpu_pod_manifest(
            f"{prefix}-{index}", namespace=namespace, resource=resource, count=per_pod,
            runtime_seconds=runtime_s, labels=labels, node_selector=pool or TRAINING,
            tolerations=TOLERATE_GPU,
        )
        if owner_ref is not None:
            manifest["metadata"]["ownerReferences"] = [owner_ref]
        created = cluster.api.create(Request(pod_type, namespace, params={"fieldManager": "test"}), manifest)
        names.append(created["metadata"]["name"])
    return names


def delete_pod(cluster: Any, namespace: str, name: str) -> None:
    """Delete a pod at once (grace period 0), as a preemption or cancellation would."""
    pod_type = cluster.registry.lookup("", "v1", "pods")
    cluster.api.delete(Request(pod_type, namespace, name, params={"gracePeriodSeconds": "0"}), None)


def recorded_span(cluster: Any, namespace: str, prefix: str) -> tuple[float, float, float]:
    """(first created, last started, last finished) of the pods `<prefix>-<i>` as the cluster
    recorded them (creationTimestamp, containers' startedAt and finishedAt): the times a capture
    of their job must report, however late a loaded machine ran the sandbox's kubelet."""
    pods, _ = cluster.store.list_objects(("", "pods"), namespace)
    created, started, finished = [], [], []
    for pod in pods:
        if not pod["metadata"]["name"].startswith(f"{prefix}-"):
            continue
        created.append(parse_timestamp(pod["metadata"]["creationTimestamp"]))
        states = [cs.get("state") or {} for cs in (pod.get("status") or {}).get("containerStatuses") or []]
        ran = [s.get("terminated") or s.get("running") or {} for s in states]
        started.append(min(parse_timestamp(r["startedAt"]) for r in ran))
        finished.append(max(parse_timestamp(s["terminated"]["finishedAt"]) for s in states))
    assert created, f"no pods {prefix}-* in {namespace}"
    return min(created), max(started), max(finished)


def wait_until(predicate: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def install_workload_crd(cluster: Any) -> None:
    """Serve Kueue's Workload kind (kueue.x-k8s.io/v1beta1) in the sandbox, as installing Kueue does."""
    crd_type = cluster.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    cluster.api.create(Request(crd_type, "", params={"fieldManager": "test"}), WORKLOAD_CRD)
    wait_until(lambda: cluster.registry.lookup("kueue.x-k8s.io", "v1beta1", "workloads") is not None, 10)


def create_workload(cluster: Any, namespace: str, owner_ref: dict[str, Any], queue: str,
                    priority: int) -> None:
    """A Kueue Workload for the job `owner_ref`, as Kueue creates it when the job is submitted."""
    cluster.api.ensure_namespaces((namespace,))
    workload_type = cluster.registry.lookup("kueue.x-k8s.io", "v1beta1", "workloads")
    workload = {
        "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "Workload",
        "metadata": {"name": f"job-{owner_ref['name']}", "namespace": namespace,
                     "ownerReferences": [owner_ref]},
        "spec": {"queueName": queue, "priority": priority, "podSets": [{"name": "main", "count": 1}]},
    }
    cluster.api.create(Request(workload_type, namespace, params={"fieldManager": "test"}), workload)
