"""Writes made as someone other than gpuctl (another field manager, as `kubectl edit` does):
how the demo, tests and benchmarks change a managed object behind gpuctl's back."""

from __future__ import annotations

from typing import Any

from kubernetes.dynamic import DynamicClient

from reconciler.cluster.connection import ConnectionSpec, api_client_for


def merge_patch_as(
    spec: ConnectionSpec, field_manager: str, obj: tuple[str, str, str, str], patch: dict[str, Any]
) -> dict[str, Any]:
    """JSON merge patch of `obj` (apiVersion, kind, namespace, name) under `field_manager`;
    the object as the server returns it."""
    api_version, kind, namespace, name = obj
    with api_client_for(spec) as api:
        resource = DynamicClient(api).resources.get(api_version=api_version, kind=kind)
        patched = resource.patch(body=patch, name=name, namespace=namespace or None,
                                 content_type="application/merge-patch+json", field_manager=field_manager)
        result: dict[str, Any] = patched.to_dict()
        return result
