"""Writes made as someone other than gpuctl (another field manager, as `kubectl edit` does):
how the demo, tests and benchmarks change a managed object behind gpuctl's back."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from kubernetes.dynamic import DynamicClient

from reconciler.cluster.connection import ConnectionSpec, api_client_for


def merge_patch_as(
    spec: ConnectionSpec, field_manager: str, obj: tuple[str, str, str, str], patch: dict[str, Any]
) -> dict[str, Any]:
    """JSON merge patch of `obj` (apiVersion, kind, namespace, name) under `field_manager`;
    the object as the server returns it."""
    api_version, kind, namespace, name = obj
    # A private discovery cache: the default file is shared by every client on the host.
    with api_client_for(spec) as api, tempfile.TemporaryDirectory(prefix="gpuctl-discovery-") as cache:
        dynamic = DynamicClient(api, cache_file=str(Path(cache) / "discovery.json"))
        resource = dynamic.resources.get(api_version=api_version, kind=kind)
        patched = resource.patch(body=patch, name=name, namespace=namespace or None,
                                 content_type="application/merge-patch+json", field_manager=field_manager)
        result: dict[str, Any] = patched.to_dict()
        return result
