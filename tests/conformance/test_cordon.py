"""Scheduling onto a cordoned Node, as kube-scheduler's NodeUnschedulable filter does it: a
Pod that tolerates the cordon's taint (`node.kubernetes.io/unschedulable:NoSchedule`, as
DaemonSet pods do) is still bound there; any other Pod stays Pending. The sandbox once
refused every cordoned node; the real scheduler is the reference."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.conformance.conftest import Target
from tests.conformance.helpers import wait_for

CORDON_TOLERATION = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}


def _pod(name: str, node: str, tolerations: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}],
            "nodeSelector": {"kubernetes.io/hostname": node},
            "tolerations": tolerations,
            "terminationGracePeriodSeconds": 0,
        },
    }


@pytest.fixture
def cordoned(core: client.CoreV1Api, target: Target) -> Iterator[str]:
    """One of the conformance pools' nodes, cordoned for the test and uncordoned after it."""
    if not target.gpu_nodes:
        pytest.skip("needs the conformance pools' nodes")
    name = "a100-0"
    core.patch_node(name, {"spec": {"unschedulable": True}})
    try:
        yield name
    finally:
        core.patch_node(name, {"spec": {"unschedulable": None}})


def test_pod_tolerating_the_cordon_taint_binds_to_a_cordoned_node(
    core: client.CoreV1Api, namespace: str, cordoned: str
) -> None:
    """A Pod tolerating the cordon taint is bound to the cordoned node; one without stays Pending."""
    suffix = uuid.uuid4().hex[:6]
    tolerant, plain = f"tolerant-{suffix}", f"plain-{suffix}"
    core.create_namespaced_pod(namespace, _pod(plain, cordoned, []))
    core.create_namespaced_pod(namespace, _pod(tolerant, cordoned, [CORDON_TOLERATION]))
    wait_for(lambda: core.read_namespaced_pod(tolerant, namespace).spec.node_name == cordoned,
             what="the tolerating pod bound to the cordoned node")  # fmt: skip

    def refused() -> bool:
        conditions = core.read_namespaced_pod(plain, namespace).status.conditions or []
        return any(c.type == "PodScheduled" and c.status == "False" for c in conditions)

    wait_for(refused, what="the plain pod marked unschedulable")
    assert core.read_namespaced_pod(plain, namespace).spec.node_name is None
