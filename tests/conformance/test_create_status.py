"""The status a workload object has when created, before any controller writes it: the real
server's create strategies reset it, and the Go fields without `omitempty` serialise as 0
(a ReplicaSet is created with `status: {replicas: 0}`, which the official client's models
require; the sandbox once answered `{}`)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, dynamic

TEMPLATE = {"metadata": {"labels": {"app": "s"}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]}}  # fmt: skip
SELECTOR = {"matchLabels": {"app": "s"}}
POD_SPEC = TEMPLATE["spec"]
NOWHERE = {**TEMPLATE, "spec": {**POD_SPEC, "nodeSelector": {"no-such-node": "x"}}}
DAEMON_STATUS = {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                 "numberReady": 0}  # fmt: skip
CREATED = [
    ("apps/v1", "ReplicaSet", {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE}, {"replicas": 0}),
    ("apps/v1", "StatefulSet",
     {"replicas": 0, "serviceName": "s", "selector": SELECTOR, "template": TEMPLATE},
     {"replicas": 0, "availableReplicas": 0}),
    ("apps/v1", "DaemonSet", {"selector": SELECTOR, "template": NOWHERE}, DAEMON_STATUS),
    ("apps/v1", "Deployment", {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE}, {}),
    ("batch/v1", "Job", {"suspend": True, "template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}, {}),
]  # fmt: skip


@pytest.mark.parametrize(("api_version", "kind", "spec", "status"), CREATED, ids=[c[1] for c in CREATED])
def test_created_workload_answers_its_reset_status(
    api_client: client.ApiClient, namespace: str, api_version: str, kind: str, spec: dict[str, Any],
    status: dict[str, int],
) -> None:
    """The create response carries the kind's zero status, which the official client's model accepts."""
    resource = dynamic.DynamicClient(api_client).resources.get(api_version=api_version, kind=kind)
    body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "s"}, "spec": spec}
    created = resource.create(body=body, namespace=namespace).to_dict()
    assert created["status"] == status
    if kind == "ReplicaSet":
        assert client.AppsV1Api(api_client).create_namespaced_replica_set(
            namespace, {**body, "metadata": {"name": "typed"}}
        ).status.replicas == 0
