"""Where the sandbox was seen to differ from a real kube-apiserver (v1.36): each test asserts
what the real server does and runs on both backends. While the sandbox still differs, the
test is an expected failure on the sandbox only (`sandbox_divergence`, strict: it must fail
there until the sandbox is fixed, then the marker goes). The fixes are the `realfix` work."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conformance.helpers import auth_headers, wait_for
from tests.conformance.test_crds import _crd

APPLY = "application/apply-patch+yaml"


def _apply_cm(core: client.CoreV1Api, namespace: str, body: dict[str, Any], manager: str) -> Any:
    return core.patch_namespaced_config_map(
        body["metadata"]["name"], namespace, body, field_manager=manager, _content_type=APPLY
    )


def test_new_namespace_gets_default_service_account_and_root_ca(core: client.CoreV1Api) -> None:
    """A new namespace gets a `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap."""
    name = f"div-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    try:

        def published() -> bool:
            accounts = {sa.metadata.name for sa in core.list_namespaced_service_account(name).items}
            maps = {cm.metadata.name for cm in core.list_namespaced_config_map(name).items}
            return "default" in accounts and "kube-root-ca.crt" in maps

        wait_for(published, timeout=60, what="default ServiceAccount and kube-root-ca.crt")
        bundle = core.read_namespaced_config_map("kube-root-ca.crt", name).data["ca.crt"]
        assert bundle.startswith("-----BEGIN CERTIFICATE-----")
    finally:
        core.delete_namespace(name)


def test_apply_without_a_field_it_owned_removes_it(core: client.CoreV1Api, namespace: str) -> None:
    """Applying a ConfigMap without `data` (owned before by that manager) removes the data."""
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "drop-all"}}
    _apply_cm(core, namespace, {**body, "data": {"a": "1"}}, "gpuctl")
    obj = _apply_cm(core, namespace, body, "gpuctl")
    assert not obj.data


def test_node_apply_with_empty_labels_keeps_other_managers_labels(core: client.CoreV1Api) -> None:
    """`labels: {}` applied to a Node removes that manager's labels and keeps the kubelet's."""
    key = f"gpuctl.dev/div-{uuid.uuid4().hex[:6]}"
    manager = f"div-{uuid.uuid4().hex[:6]}"

    def apply(labels: dict[str, str]) -> Any:
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "h100-0", "labels": labels}}
        return core.patch_node("h100-0", body, field_manager=manager, _content_type=APPLY)

    apply({key: "a"})
    try:
        node = apply({})
        assert key not in node.metadata.labels
        assert node.metadata.labels["kubernetes.io/hostname"] == "h100-0"
    finally:
        core.patch_node("h100-0", {"metadata": {"labels": {key: None}}})


def _condition(ext: client.ApiextensionsV1Api, name: str, kind: str) -> str | None:
    for condition in ext.read_custom_resource_definition(name).status.conditions or []:
        if condition.type == kind:
            return str(condition.status)
    return None


def test_second_crd_naming_the_same_kind_is_not_accepted(api_client: client.ApiClient) -> None:
    """Two CRDs of one group with the same kind: the second gets NamesAccepted=False and is not served."""
    ext, custom = client.ApiextensionsV1Api(api_client), client.CustomObjectsApi(api_client)
    group = f"d{uuid.uuid4().hex[:6]}.example.com"
    clash = _crd(group, "Widget", "gadgets", "Namespaced")
    clash["spec"]["names"]["singular"] = "gadget"  # only the kind is the same
    first = ext.create_custom_resource_definition(_crd(group, "Widget", "widgets", "Namespaced"))
    second = ext.create_custom_resource_definition(clash)
    try:
        wait_for(
            lambda: _condition(ext, first.metadata.name, "Established") == "True", what="first Established"
        )
        wait_for(
            lambda: _condition(ext, second.metadata.name, "NamesAccepted") == "False",
            timeout=60,
            what="NamesAccepted=False",
        )
        assert _condition(ext, second.metadata.name, "Established") != "True"
        try:
            custom.list_cluster_custom_object(group, "v1", "gadgets")
        except ApiException as exc:
            assert exc.status == 404
        else:
            raise AssertionError("the second CRD's plural is served")
    finally:
        ext.delete_custom_resource_definition(second.metadata.name)
        ext.delete_custom_resource_definition(first.metadata.name)


def _table_columns(api: client.ApiClient, path: str) -> list[str]:
    response = api.rest_client.pool_manager.request(
        "GET",
        api.configuration.host + path,
        headers={
            **auth_headers(api),
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        },
    )
    table = json.loads(response.data)
    return [c["name"] for c in table.get("columnDefinitions") or []]


def test_kubectl_table_columns_for_events_and_deployments(
    api_client: client.ApiClient, namespace: str
) -> None:
    """`kubectl get events` shows Type, Reason, Object, Message; deployments Ready, Up-to-date, Available."""
    events = _table_columns(api_client, f"/api/v1/namespaces/{namespace}/events")
    deployments = _table_columns(api_client, f"/apis/apps/v1/namespaces/{namespace}/deployments")
    assert {"Type", "Reason", "Object", "Message"} <= set(events)
    assert {"Ready", "Up-to-date", "Available"} <= set(deployments)


def test_job_runs_its_pod_to_completion(api_client: client.ApiClient, namespace: str) -> None:
    """A batch/v1 Job creates its pod; when the pod succeeds the Job is Complete."""
    batch = client.BatchV1Api(api_client)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"sandbox.gpuctl.dev/runtime-seconds": "1"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
            },
        },
    }
    batch.create_namespaced_job(namespace, job)

    def complete() -> bool:
        conditions = batch.read_namespaced_job("once", namespace).status.conditions or []
        return any(c.type == "Complete" and c.status == "True" for c in conditions)

    wait_for(complete, timeout=60, what="Job Complete")


def _workload(kind: str, name: str, **pod_spec: Any) -> dict[str, Any]:
    """An apps/v1 workload of one busybox container (a StatefulSet also names its Service)."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {**pod_spec, "containers": [{"name": "main", "image": "busybox"}]},
        },
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"])
def test_workload_pod_template_must_restart_always(
    api_client: client.ApiClient, namespace: str, kind: str
) -> None:
    """An apps/v1 workload whose pod template has `restartPolicy: Never` is refused 422 Invalid."""
    workload = _workload(kind, "never", restartPolicy="Never")
    plural = kind.lower() + "s"
    try:
        # One generic POST for the four kinds (the typed create_* calls differ per kind).
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "apps", "v1", namespace, plural, workload
        )
    except ApiException as exc:
        assert exc.status == 422
        status = json.loads(exc.body)
        assert status["reason"] == "Invalid"
        assert status["message"] == (
            f'{kind}.apps "never" is invalid: spec.template.spec.restartPolicy: '
            'Unsupported value: "Never": supported values: "Always"'
        )
    else:
        raise AssertionError(f"a {kind} with restartPolicy Never was accepted")


ZERO_STATUS = {
    "Deployment": {},
    "ReplicaSet": {"replicas": 0},
    "StatefulSet": {"replicas": 0, "availableReplicas": 0},
    "DaemonSet": {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    },
}


@pytest.mark.parametrize("kind", sorted(ZERO_STATUS))
def test_created_workload_answers_the_zero_status(
    api_client: client.ApiClient, namespace: str, kind: str
) -> None:
    """A created apps/v1 workload comes back with its zero status (counters without omitempty as 0)."""
    workload = _workload(kind, "zero")
    if kind != "DaemonSet":
        workload["spec"]["replicas"] = 0
    created = client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        "apps", "v1", namespace, kind.lower() + "s", workload
    )
    assert created["status"] == ZERO_STATUS[kind]
