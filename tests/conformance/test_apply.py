"""Server-side apply and the other patch types through the official client: managedFields
per manager, conflicts, force, field removal, and strategic/merge/JSON patches."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

APPLY = "application/apply-patch+yaml"


def _apply(
    core: client.CoreV1Api, namespace: str, body: dict[str, Any], manager: str, force: bool | None = None
) -> Any:
    return core.patch_namespaced_config_map(
        body["metadata"]["name"], namespace, body, field_manager=manager, force=force, _content_type=APPLY
    )


def _cm(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def _managers(obj: Any) -> dict[str, dict[str, Any]]:
    return {f"{e.manager}/{e.operation}": e.fields_v1 for e in obj.metadata.managed_fields or []}


def test_apply_creates_and_records_ownership(core: client.CoreV1Api, namespace: str) -> None:
    """A first apply creates the object and records the manager's fields as FieldsV1."""
    obj = _apply(core, namespace, _cm("ssa", {"a": "1"}, {"team": "ml"}), "alice")
    assert obj.data == {"a": "1"}
    fields = _managers(obj)["alice/Apply"]
    assert "f:a" in fields["f:data"]
    assert "f:team" in fields["f:metadata"]["f:labels"]


def test_apply_conflict_lists_fields_and_force_takes_over(core: client.CoreV1Api, namespace: str) -> None:
    """Applying a different value for another manager's field is a 409 naming the field;
    force moves the field to the new manager."""
    _apply(core, namespace, _cm("own", {"a": "1", "b": "2"}), "alice")
    with pytest.raises(ApiException) as err:
        _apply(core, namespace, _cm("own", {"a": "changed"}), "bob")
    status = json.loads(err.value.body)
    assert err.value.status == 409 and status["reason"] == "Conflict"
    assert [c["field"] for c in status["details"]["causes"]] == [".data.a"]
    assert 'conflict with "alice"' in status["message"]
    forced = _apply(core, namespace, _cm("own", {"a": "changed"}), "bob", force=True)
    assert forced.data == {"a": "changed", "b": "2"}
    managers = _managers(forced)
    assert "f:a" in managers["bob/Apply"]["f:data"]
    assert "f:a" not in managers["alice/Apply"]["f:data"]


def test_same_value_is_shared_without_conflict(core: client.CoreV1Api, namespace: str) -> None:
    """Applying the same value as another manager shares ownership instead of conflicting."""
    _apply(core, namespace, _cm("shared", {"a": "1"}), "alice")
    obj = _apply(core, namespace, _cm("shared", {"a": "1"}), "bob")
    managers = _managers(obj)
    assert "f:a" in managers["alice/Apply"]["f:data"] and "f:a" in managers["bob/Apply"]["f:data"]


def test_field_dropped_from_apply_is_removed(core: client.CoreV1Api, namespace: str) -> None:
    """A field the only manager stops applying is removed; one still owned by another stays."""
    _apply(core, namespace, _cm("drop", {"a": "1", "b": "2", "c": "3"}), "alice")
    _apply(core, namespace, _cm("drop", {"c": "3"}), "bob")
    obj = _apply(core, namespace, _cm("drop", {"a": "1"}), "alice")
    assert obj.data == {"a": "1", "c": "3"}


def test_update_takes_ownership_then_apply_conflicts(core: client.CoreV1Api, namespace: str) -> None:
    """A merge patch by another manager takes the field over, so the next apply conflicts."""
    _apply(core, namespace, _cm("upd", {"a": "1"}), "alice")
    core.patch_namespaced_config_map("upd", namespace, {"data": {"a": "edited"}}, field_manager="editor")
    with pytest.raises(ApiException) as err:
        _apply(core, namespace, _cm("upd", {"a": "1"}), "alice")
    assert err.value.status == 409
    assert 'conflict with "editor"' in json.loads(err.value.body)["message"]


def test_apply_without_field_manager_is_rejected(api_client: client.ApiClient, namespace: str) -> None:
    """An apply patch needs a fieldManager (422 otherwise)."""
    core = client.CoreV1Api(api_client)
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("nofm", namespace, _cm("nofm", {"a": "1"}), _content_type=APPLY)
    assert err.value.status in (400, 422)


def test_apply_dry_run_changes_nothing(core: client.CoreV1Api, namespace: str) -> None:
    """An apply with dryRun=All returns the result but leaves the stored object alone."""
    _apply(core, namespace, _cm("dry", {"a": "1"}), "alice")
    preview = core.patch_namespaced_config_map(
        "dry", namespace, _cm("dry", {"a": "2"}), field_manager="alice", dry_run="All", _content_type=APPLY
    )
    assert preview.data == {"a": "2"}
    assert core.read_namespaced_config_map("dry", namespace).data == {"a": "1"}


def test_no_op_apply_keeps_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    """Re-applying the same configuration does not write a new resourceVersion."""
    first = _apply(core, namespace, _cm("noop", {"a": "1"}), "alice")
    again = _apply(core, namespace, _cm("noop", {"a": "1"}), "alice")
    assert again.metadata.resource_version == first.metadata.resource_version


def test_patch_types(core: client.CoreV1Api, namespace: str) -> None:
    """JSON patch, merge patch and strategic merge patch each change what they should."""
    core.create_namespaced_config_map(namespace, _cm("p", {"a": "1", "b": "2"}, {"x": "1"}))
    core.patch_namespaced_config_map(
        "p",
        namespace,
        [{"op": "replace", "path": "/data/a", "value": "9"}],
        _content_type="application/json-patch+json",
    )
    core.patch_namespaced_config_map(
        "p", namespace, {"data": {"b": None}}, _content_type="application/merge-patch+json"
    )
    obj = core.patch_namespaced_config_map(
        "p",
        namespace,
        {"metadata": {"labels": {"y": "2"}}},
        _content_type="application/strategic-merge-patch+json",
    )
    assert obj.data == {"a": "9"}
    assert obj.metadata.labels == {"x": "1", "y": "2"}


def test_strategic_merge_on_containers_by_name(api_client: client.ApiClient, namespace: str) -> None:
    """A strategic merge patch merges containers by name instead of replacing the list."""
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "two"},
            "spec": {
                "selector": {"matchLabels": {"app": "two"}},
                "template": {
                    "metadata": {"labels": {"app": "two"}},
                    "spec": {
                        "containers": [{"name": "main", "image": "a:1"}, {"name": "side", "image": "b:1"}]
                    },
                },
            },
        },
    )
    patched = apps.patch_namespaced_deployment(
        "two",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "b:2"}]}}}},
        _content_type="application/strategic-merge-patch+json",
    )
    images = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert images == {"main": "a:1", "side": "b:2"}


def test_apply_merges_containers_by_name_across_managers(
    api_client: client.ApiClient, namespace: str
) -> None:
    """Two managers applying different containers of one pod spec both keep theirs."""
    apps = client.AppsV1Api(api_client)

    def dep(containers: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "multi"},
            "spec": {
                "selector": {"matchLabels": {"app": "m"}},
                "template": {"metadata": {"labels": {"app": "m"}}, "spec": {"containers": containers}},
            },
        }

    apps.patch_namespaced_deployment(
        "multi",
        namespace,
        dep([{"name": "main", "image": "a:1"}]),
        field_manager="alice",
        _content_type=APPLY,
    )
    obj = apps.patch_namespaced_deployment(
        "multi", namespace, dep([{"name": "side", "image": "b:1"}]), field_manager="bob", _content_type=APPLY
    )
    assert sorted(c.name for c in obj.spec.template.spec.containers) == ["main", "side"]


def test_force_on_a_non_apply_patch_is_rejected(core: client.CoreV1Api, namespace: str) -> None:
    """`force` belongs to apply patches only: a merge patch with it answers 422."""
    core.create_namespaced_config_map(namespace, _cm("f", {"a": "1"}))
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("f", namespace, {"data": {"a": "2"}}, force=True)
    assert err.value.status == 422


def test_dynamic_client_server_side_apply(api_client: client.ApiClient, namespace: str) -> None:
    """The DynamicClient's server_side_apply creates and updates through discovery."""
    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(api_client)
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = _cm("dyn", {"a": "1"})
    dyn.server_side_apply(
        configmaps, body=body, namespace=namespace, field_manager="dyn", force_conflicts=True
    )
    body["data"] = {"a": "2"}
    applied = dyn.server_side_apply(configmaps, body=body, namespace=namespace, field_manager="dyn")
    assert applied.data.a == "2"
    assert [e.manager for e in applied.metadata.managedFields] == ["dyn"]
