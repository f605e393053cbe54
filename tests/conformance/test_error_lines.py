"""gpuctl's errors for API refusals are one line built from the Status (code, reason, message);
a missing namespace is recognised as such, and the repository's pass adds a hint when the
repository does not define it. The same on any API server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from reconciler.cluster.client import KubeClusterClient
from reconciler.errors import NamespaceMissingError, TerminalError
from reconciler.pipeline import ReconcileOptions, reconcile
from reconciler.testing import ManualClock, desired_state
from schemas.results import Action, ReconcileOutcome, RevisionInfo


@pytest.fixture
def cluster(api_client: client.ApiClient) -> Iterator[KubeClusterClient]:
    ours = KubeClusterClient(api_client)
    yield ours
    ours._cache_dir.cleanup()


def _configmap(namespace: str, name: str = "c") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}


def test_apply_into_a_missing_namespace_is_one_line_naming_it(cluster: KubeClusterClient) -> None:
    """SSA into a namespace the cluster lacks: `HTTP 404 NotFound: namespaces "x" not found`, one line."""
    missing = f"absent-{uuid.uuid4().hex[:6]}"
    with pytest.raises(NamespaceMissingError) as caught:
        cluster.apply(_configmap(missing))
    assert caught.value.namespace == missing
    assert str(caught.value).endswith(
        f'server-side apply failed: HTTP 404 NotFound: namespaces "{missing}" not found'
    )


def test_invalid_object_is_one_line_with_reason_invalid(cluster: KubeClusterClient, namespace: str) -> None:
    """A 422 answer names its reason (Invalid) and the server's message, on one line, no headers."""
    bad = {**_configmap(namespace), "metadata": {"name": "Not_A_Valid_Name", "namespace": namespace}}
    with pytest.raises(TerminalError) as caught:
        cluster.apply(bad)
    text = str(caught.value)
    assert "HTTP 422 Invalid: " in text and "\n" not in text
    assert "HTTPHeaderDict" not in text and "Audit-Id" not in text


def test_pass_hints_at_a_namespace_the_repository_does_not_define(cluster: KubeClusterClient) -> None:
    """A repository placing an object in a namespace it does not define, on a cluster lacking it:
    the failed entry says to add the Namespace or install the operator that creates it."""
    missing = f"operator-{uuid.uuid4().hex[:6]}"
    result = reconcile(desired_state([_configmap(missing, "settings")]), cluster, clock=ManualClock(),
                       revision=RevisionInfo("abc"), options=ReconcileOptions())  # fmt: skip
    assert result.outcome is ReconcileOutcome.FAILED
    [failed] = [e for e in result.changes.entries if e.action is Action.FAILED]
    assert failed.error == (
        f'server-side apply failed: HTTP 404 NotFound: namespaces "{missing}" not found; '
        f'add a Namespace "{missing}" to the repository, or install the operator that creates it'
    )
