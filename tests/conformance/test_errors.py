"""Requests the API refuses answer with the right status code and a `Status` body: wrong
method, unknown subresource, unknown patch type, bad token, protected namespaces; plus the
`scale` subresource kubectl uses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conformance.conftest import Target
from tests.conformance.helpers import auth_headers


def _raw(
    api: client.ApiClient, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
) -> tuple[int, dict[str, Any]]:
    """A request with any body and media type, over the client's own TLS connection pool."""
    config = api.configuration
    headers = {
        "Content-Type": content_type,
        "Accept": "application/json",
        **auth_headers(api),
    }
    response = api.rest_client.pool_manager.request(method, config.host + path, body=body, headers=headers)
    return response.status, json.loads(response.data) if response.data else {}


def test_post_to_a_named_object_is_405(api_client: client.ApiClient, namespace: str) -> None:
    """POST is not a verb on a named object: 405 MethodNotAllowed Status."""
    status, body = _raw(api_client, "POST", f"/api/v1/namespaces/{namespace}/configmaps/x", b"{}")
    assert status == 405 and body["kind"] == "Status" and body["reason"] == "MethodNotAllowed"


def test_unknown_subresource_is_404(api_client: client.ApiClient, namespace: str) -> None:
    """A subresource the server does not offer answers 404 with a Status."""
    status, body = _raw(api_client, "GET", f"/api/v1/namespaces/{namespace}/configmaps/x/nonsense")
    assert status == 404 and body["kind"] == "Status"


def test_unknown_patch_type_is_415(core: client.CoreV1Api, namespace: str) -> None:
    """A PATCH in a media type the server does not know answers 415 UnsupportedMediaType."""
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "m"}, "data": {}})
    status, body = _raw(
        core.api_client,
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/m",
        b'{"data":{"a":"1"}}',
        "application/x-weird",
    )
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


def test_bad_token_is_401(target: Target) -> None:
    """A wrong bearer token (and no client certificate) answers 401 Unauthorized."""
    from kubernetes import config

    trusted = config.new_client_from_config(config_file=str(target.kubeconfig)).configuration
    configuration = client.Configuration()
    configuration.host, configuration.ssl_ca_cert = trusted.host, trusted.ssl_ca_cert
    configuration.verify_ssl = trusted.verify_ssl
    configuration.api_key = {"BearerToken": "Bearer wrong-token"}
    api = client.ApiClient(configuration)
    try:
        with pytest.raises(ApiException) as err:
            client.CoreV1Api(api).list_namespace()
        assert err.value.status == 401
    finally:
        api.close()


def test_default_namespace_cannot_be_deleted(core: client.CoreV1Api) -> None:
    """Deleting the `default` namespace is 403 Forbidden."""
    with pytest.raises(ApiException) as err:
        core.delete_namespace("default", dry_run="All")
    assert err.value.status == 403


def test_scale_subresource_reads_and_writes_replicas(api_client: client.ApiClient, namespace: str) -> None:
    """GET/PATCH deployments/scale read and set spec.replicas through an autoscaling/v1 Scale."""
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "s"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "s"}},
                "template": {
                    "metadata": {"labels": {"app": "s"}},
                    "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]},
                },
            },
        },
    )
    current = apps.read_namespaced_deployment_scale("s", namespace)
    assert current.kind == "Scale" and current.spec.replicas == 1
    apps.patch_namespaced_deployment_scale("s", namespace, {"spec": {"replicas": 0}})
    assert apps.read_namespaced_deployment("s", namespace).spec.replicas == 0


def test_protobuf_body_is_refused_with_415(
    api_client: client.ApiClient, namespace: str, target: Target
) -> None:
    """The sandbox speaks JSON only: a protobuf body answers 415 with a Status naming JSON."""
    if target.sandbox is None:
        pytest.skip("real API servers accept protobuf")
    status, body = _raw(
        api_client,
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        b"k8s\x00",
        "application/vnd.kubernetes.protobuf",
    )
    assert status == 415 and "application/json" in body["message"]
