"""Eviction through the `pods/eviction` subresource, honouring PodDisruptionBudgets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conformance.helpers import wait_for


def _pod(name: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}],
            "terminationGracePeriodSeconds": 0,
        },
    }


def _running(core: client.CoreV1Api, namespace: str, names: list[str]) -> None:
    def all_running() -> bool:
        return all(core.read_namespaced_pod(n, namespace).status.phase == "Running" for n in names)

    wait_for(all_running, what="pods running")


def _evict(core: client.CoreV1Api, namespace: str, name: str) -> Any:
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
    return core.create_namespaced_pod_eviction(name, namespace, body)


def _pdb(policy: client.PolicyV1Api, namespace: str, app: str, min_available: int) -> None:
    policy.create_namespaced_pod_disruption_budget(
        namespace,
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": f"{app}-pdb"},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}},
        },
    )


def test_eviction_without_pdb_deletes_pod(core: client.CoreV1Api, namespace: str) -> None:
    """An eviction with no PDB in the way deletes the pod."""
    core.create_namespaced_pod(namespace, _pod("free", "free"))
    _running(core, namespace, ["free"])
    _evict(core, namespace, "free")

    def gone() -> bool:
        try:
            core.read_namespaced_pod("free", namespace)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, what="evicted pod deleted")


def test_eviction_blocked_by_pdb_is_429(api_client: client.ApiClient, namespace: str) -> None:
    """With minAvailable equal to the healthy pods, eviction answers 429 with a DisruptionBudget cause;
    one spare pod allows exactly one eviction."""
    core, policy = client.CoreV1Api(api_client), client.PolicyV1Api(api_client)
    names = ["db-0", "db-1", "db-2"]
    for name in names:
        core.create_namespaced_pod(namespace, _pod(name, "db"))
    _running(core, namespace, names)
    _pdb(policy, namespace, "db", 2)
    wait_for(
        lambda: (
            (
                policy.read_namespaced_pod_disruption_budget("db-pdb", namespace).status
                or client.V1PodDisruptionBudgetStatus(
                    current_healthy=0, desired_healthy=0, disruptions_allowed=0, expected_pods=0
                )
            ).current_healthy
            == 3
        ),
        what="PDB status",
    )
    _evict(core, namespace, "db-0")
    with pytest.raises(ApiException) as err:
        _evict(core, namespace, "db-1")
    status = json.loads(err.value.body)
    assert err.value.status == 429 and status["reason"] == "TooManyRequests"
    assert status["details"]["causes"][0]["reason"] == "DisruptionBudget"
    assert core.read_namespaced_pod("db-1", namespace).metadata.deletion_timestamp is None
