"""Server-side apply without a field the manager owned: the real server removes that manager's
fields, keeps other managers', never answers 409, and does not keep emptied maps (labels,
data) at all. gpuctl relies on it to take a pool's label off a node."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from reconciler.cluster.client import KubeClusterClient


@pytest.fixture
def ours(api_client: client.ApiClient) -> Iterator[KubeClusterClient]:
    cluster = KubeClusterClient(api_client)
    yield cluster
    cluster._cache_dir.cleanup()


def _update(cluster: KubeClusterClient, path: str, body: dict[str, Any], manager: str) -> None:
    """A merge patch by another field manager (an Update, as kubectl edit or a kubelet makes)."""
    cluster._request("PATCH", path, query=[("fieldManager", manager)], body=body,
                     content_type="application/merge-patch+json")  # fmt: skip


def test_fields_dropped_from_the_applied_configmap_go_others_stay(
    ours: KubeClusterClient, namespace: str
) -> None:
    """gpuctl stops applying data and labels: its keys go, another manager's keys stay, no 409."""
    meta = {"name": "c", "namespace": namespace}
    ours.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "labels": {"a": "1"}},
                "data": {"a": "1"}})  # fmt: skip
    _update(ours, f"/api/v1/namespaces/{namespace}/configmaps/c",
            {"metadata": {"labels": {"b": "2"}}, "data": {"b": "2"}}, "kubectl-edit")  # fmt: skip
    out = ours.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
    assert out.get("data") == {"b": "2"}
    assert out["metadata"].get("labels") == {"b": "2"}


def test_emptied_maps_are_not_kept(ours: KubeClusterClient, namespace: str) -> None:
    """Applying `labels: {}` and `data: {}` over the manager's own keys leaves neither field."""
    meta = {"name": "e", "namespace": namespace}
    ours.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "labels": {"a": "1"}},
                "data": {"a": "1"}})  # fmt: skip
    emptied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "labels": {}}, "data": {}}
    out = ours.apply(emptied)
    assert "data" not in out and "labels" not in out["metadata"]
    new_meta = {"name": "f", "namespace": namespace, "labels": {}}
    fresh = ours.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": new_meta, "data": {}})
    assert "data" not in fresh and "labels" not in fresh["metadata"]


def test_pool_label_comes_off_a_node_and_the_kubelets_stays(ours: KubeClusterClient) -> None:
    """A Node applied with `labels: {}` by gpuctl loses gpuctl's pool label; the kubelet's label stays."""
    name = f"ssa-{uuid.uuid4().hex[:6]}"
    ours.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"pool": "a"}}})
    try:
        _update(ours, f"/api/v1/nodes/{name}", {"metadata": {"labels": {"kubernetes.io/hostname": name}}},
                "kubelet")  # fmt: skip
        out = ours.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {}}})
        assert out["metadata"]["labels"] == {"kubernetes.io/hostname": name}
    finally:
        ours.delete("v1", "Node", name)
