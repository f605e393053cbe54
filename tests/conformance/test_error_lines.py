"""gpuctl's errors for API refusals are one line built from the Status (code, reason, message),
with a hint when the namespace is missing; the same on any API server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from reconciler.cluster.client import KubeClusterClient
from reconciler.errors import NotFoundError, TerminalError


@pytest.fixture
def cluster(api_client: client.ApiClient) -> Iterator[KubeClusterClient]:
    ours = KubeClusterClient(api_client)
    yield ours
    ours._cache_dir.cleanup()


def _configmap(namespace: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": namespace}}


def test_apply_into_a_missing_namespace_is_one_line_with_a_hint(cluster: KubeClusterClient) -> None:
    """SSA into a namespace the cluster lacks: `HTTP 404 NotFound: namespaces "x" not found; add ...`."""
    missing = f"absent-{uuid.uuid4().hex[:6]}"
    with pytest.raises(NotFoundError) as caught:
        cluster.apply(_configmap(missing))
    text = str(caught.value)
    assert "\n" not in text
    assert f'server-side apply failed: HTTP 404 NotFound: namespaces "{missing}" not found; ' in text
    assert f'add a Namespace "{missing}" to the repository, or install the operator that creates it' in text


def test_invalid_object_is_one_line_with_reason_invalid(cluster: KubeClusterClient, namespace: str) -> None:
    """A 422 answer names its reason (Invalid) and the server's message, on one line, no headers."""
    bad = {**_configmap(namespace), "metadata": {"name": "Not_A_Valid_Name", "namespace": namespace}}
    with pytest.raises(TerminalError) as caught:
        cluster.apply(bad)
    text = str(caught.value)
    assert "HTTP 422 Invalid: " in text and "\n" not in text
    assert "HTTPHeaderDict" not in text and "Audit-Id" not in text and "add a Namespace" not in text
