"""CustomResourceDefinitions: a created CRD is Established and its kind is served (namespaced
or cluster-scoped) through discovery and the dynamic client; deleting it stops serving it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.conformance.helpers import wait_for


def _crd(group: str, kind: str, plural: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def _established(ext: client.ApiextensionsV1Api, name: str) -> bool:
    conditions = ext.read_custom_resource_definition(name).status.conditions or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


@pytest.mark.parametrize("scope", ["Namespaced", "Cluster"])
def test_crd_serves_its_kind_until_deleted(api_client: client.ApiClient, namespace: str, scope: str) -> None:
    """Creating a CRD serves its kind; deleting the CRD answers 404 for its objects."""
    ext, custom = client.ApiextensionsV1Api(api_client), client.CustomObjectsApi(api_client)
    group = f"t{uuid.uuid4().hex[:6]}.example.com"
    crd = ext.create_custom_resource_definition(_crd(group, "Widget", "widgets", scope))
    wait_for(lambda: _established(ext, crd.metadata.name), what="CRD Established")
    body = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}
    if scope == "Namespaced":
        created = custom.create_namespaced_custom_object(group, "v1", namespace, "widgets", body)
        listed = custom.list_namespaced_custom_object(group, "v1", namespace, "widgets")
    else:
        created = custom.create_cluster_custom_object(group, "v1", "widgets", body)
        listed = custom.list_cluster_custom_object(group, "v1", "widgets")
    assert created["metadata"]["generation"] == 1
    assert [i["metadata"]["name"] for i in listed["items"]] == ["w1"]
    ext.delete_custom_resource_definition(crd.metadata.name)

    def unserved() -> bool:
        try:
            custom.list_cluster_custom_object(group, "v1", "widgets")
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(unserved, what="CRD no longer served")


def test_dynamic_client_discovers_builtin_and_preinstalled_kinds(api_client: client.ApiClient) -> None:
    """The official DynamicClient finds core kinds and the GPU/ML CRDs through discovery."""
    dyn = DynamicClient(api_client)
    nodes = dyn.resources.get(api_version="v1", kind="Node")
    assert nodes.namespaced is False
    assert dyn.resources.get(api_version="policy/v1", kind="PodDisruptionBudget").namespaced is True
    try:
        queues = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="ClusterQueue")
    except Exception:
        pytest.skip("Kueue is not installed on this cluster")
    assert queues.namespaced is False


def test_unknown_resource_is_404_status(api_client: client.ApiClient) -> None:
    """A path the server does not serve answers a 404 Status, not a crash."""
    custom = client.CustomObjectsApi(api_client)
    with pytest.raises(ApiException) as err:
        custom.list_cluster_custom_object("nothing.example.com", "v1", "things")
    assert err.value.status == 404


def test_status_subresource_apply_touches_only_status(api_client: client.ApiClient, namespace: str) -> None:
    """Applying through `/status` sets status only and records a manager entry for the subresource;
    a main-resource write leaves status alone."""
    ext, custom = client.ApiextensionsV1Api(api_client), client.CustomObjectsApi(api_client)
    group = f"s{uuid.uuid4().hex[:6]}.example.com"
    crd_body = _crd(group, "Job", "jobs", "Namespaced")
    crd_body["spec"]["versions"][0]["subresources"] = {"status": {}}
    crd = ext.create_custom_resource_definition(crd_body)
    try:
        wait_for(lambda: _established(ext, crd.metadata.name), what="CRD Established")
        body = {"apiVersion": f"{group}/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"size": 1}}
        custom.create_namespaced_custom_object(group, "v1", namespace, "jobs", body)
        status_patch = {
            "apiVersion": f"{group}/v1",
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {"size": 99},
            "status": {"phase": "Running"},
        }
        result = custom.patch_namespaced_custom_object_status(
            group,
            "v1",
            namespace,
            "jobs",
            "j",
            status_patch,
            field_manager="job-controller",
            _content_type="application/apply-patch+yaml",
        )
        assert result["status"] == {"phase": "Running"} and result["spec"] == {"size": 1}
        entry = next(e for e in result["metadata"]["managedFields"] if e["manager"] == "job-controller")
        assert entry["subresource"] == "status" and list(entry["fieldsV1"]) == ["f:status"]
        replaced = custom.patch_namespaced_custom_object(
            group, "v1", namespace, "jobs", "j", {"status": {"phase": "Lost"}, "spec": {"size": 2}}
        )
        assert replaced["status"] == {"phase": "Running"} and replaced["spec"] == {"size": 2}
    finally:
        ext.delete_custom_resource_definition(crd.metadata.name)
