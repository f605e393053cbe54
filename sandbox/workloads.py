"""GPU pods for demos and tests: manifests that request whole GPUs, MIG slices or shared
GPUs, with an optional runtime on the sandbox clock."""

from __future__ import annotations

from typing import Any

from sandbox.gpu.pods import RUNTIME_ANNOTATION


def gpu_pod_manifest(
    name: str,
    *,
    namespace: str = "default",
    resource: str = "nvidia.com/gpu",
    count: int = 1,
    runtime_seconds: float | None = None,
    labels: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    image: str = "nvcr.io/nvidia/pytorch:25.01-py3",
) -> dict[str, Any]:
    """A Pod asking for `count` of `resource` (e.g. `nvidia.com/mig-1g.10gb`); without a
    runtime it runs until deleted."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
    if runtime_seconds is not None:
        metadata["annotations"] = {RUNTIME_ANNOTATION: f"{runtime_seconds:g}"}
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": "main",
                "image": image,
                "resources": {"limits": {resource: str(count)}},
            }
        ],
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = list(tolerations)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def gpu_pod_batch(
    prefix: str,
    count: int,
    **options: Any,
) -> list[dict[str, Any]]:
    """`count` pods named `<prefix>-<i>` with the same request (see `gpu_pod_manifest`)."""
    return [gpu_pod_manifest(f"{prefix}-{i}", **options) for i in range(count)]
