"""Deployments and ReplicaSets: pods are created, replaced and cleaned up like upstream's
controllers do (through the official client; on a real cluster the real controllers answer)."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.conformance.helpers import wait_for


def _deployment(name: str, replicas: int, image: str = "registry.k8s.io/pause:3.9") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "c", "image": image}]},
            },
        },
    }


def _running(core: client.CoreV1Api, namespace: str, app: str) -> list[Any]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return [p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]


def test_deployment_runs_replaces_and_scales_pods(api_client: client.ApiClient, namespace: str) -> None:
    """A Deployment gets a ReplicaSet and running pods; a deleted pod is replaced; scaling down
    removes pods; deleting the Deployment removes its ReplicaSet and pods."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, _deployment("web", 3))
    wait_for(lambda: len(_running(core, namespace, "web")) == 3, timeout=60, what="3 pods running")
    wait_for(
        lambda: (apps.read_namespaced_deployment("web", namespace).status.available_replicas or 0) == 3,
        timeout=60,
        what="deployment available",
    )
    replicasets = apps.list_namespaced_replica_set(namespace).items
    assert len(replicasets) == 1 and replicasets[0].metadata.owner_references[0].kind == "Deployment"
    victim = _running(core, namespace, "web")[0].metadata.name
    core.delete_namespaced_pod(victim, namespace, grace_period_seconds=0)
    wait_for(
        lambda: (
            len(_running(core, namespace, "web")) == 3
            and victim not in {p.metadata.name for p in _running(core, namespace, "web")}
        ),
        timeout=60,
        what="replacement pod",
    )
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 1}})
    wait_for(lambda: len(_running(core, namespace, "web")) == 1, timeout=60, what="scaled to 1")
    apps.delete_namespaced_deployment("web", namespace)
    wait_for(
        lambda: (
            not core.list_namespaced_pod(namespace, label_selector="app=web").items
            and not apps.list_namespaced_replica_set(namespace).items
        ),
        timeout=60,
        what="garbage collected",
    )


def test_new_template_rolls_to_a_new_replicaset(api_client: client.ApiClient, namespace: str) -> None:
    """Changing the pod template makes a new ReplicaSet with all replicas; the old one goes to 0."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, _deployment("roll", 2))
    wait_for(lambda: len(_running(core, namespace, "roll")) == 2, timeout=60, what="first pods")
    apps.patch_namespaced_deployment(
        "roll", namespace, {"spec": {"template": {"metadata": {"annotations": {"restartedAt": "now"}}}}}
    )

    def rolled() -> bool:
        sets = {
            rs.metadata.name: rs.spec.replicas for rs in apps.list_namespaced_replica_set(namespace).items
        }
        return len(sets) == 2 and sorted(sets.values()) == [0, 2]

    wait_for(rolled, timeout=60, what="new ReplicaSet")
    wait_for(
        lambda: (apps.read_namespaced_deployment("roll", namespace).status.updated_replicas or 0) == 2,
        timeout=60,
        what="updated replicas",
    )
