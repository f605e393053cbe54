"""Which pods hold GPUs on a node: any container (or init container) requesting or limiting
an `nvidia.com/gpu` or `nvidia.com/mig-*` resource, not yet finished."""

from __future__ import annotations

from typing import Any

from reconciler.protocols import ClusterClient

_FINISHED = {"Succeeded", "Failed"}


def is_gpu_resource(name: str) -> bool:
    return name == "nvidia.com/gpu" or name.startswith(("nvidia.com/mig-", "nvidia.com/gpu."))


def uses_gpu(pod: dict[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        resources = container.get("resources") or {}
        for section in ("requests", "limits"):
            if any(is_gpu_resource(str(key)) for key in resources.get(section) or {}):
                return True
    return False


def gpu_pods(client: ClusterClient, node_name: str) -> list[dict[str, Any]]:
    """The unfinished GPU pods bound to `node_name` (terminating ones included)."""
    pods = client.list_objects("v1", "Pod", field_selector=f"spec.nodeName={node_name}")
    return [pod for pod in pods if uses_gpu(pod) and (pod.get("status") or {}).get("phase") not in _FINISHED]
