"""CRUD, optimistic concurrency, Status bodies, dry runs and selectors through the official client."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException


def _cm(
    name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None
) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data or {"k": "v"},
    }


def test_create_sets_identity_metadata(core: client.CoreV1Api, namespace: str) -> None:
    """A created object gets a uid, a creationTimestamp and a resourceVersion."""
    created = core.create_namespaced_config_map(namespace, _cm("one"))
    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    assert int(created.metadata.resource_version) > 0


def test_get_missing_is_404_status(core: client.CoreV1Api, namespace: str) -> None:
    """GET of a missing object answers 404 with a NotFound Status naming the object."""
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("nope", namespace)
    status = json.loads(err.value.body)
    assert err.value.status == 404
    assert status["kind"] == "Status" and status["reason"] == "NotFound"
    assert status["message"] == 'configmaps "nope" not found'
    assert status["details"] == {"name": "nope", "kind": "configmaps"}


def test_create_twice_is_409_already_exists(core: client.CoreV1Api, namespace: str) -> None:
    """Creating an existing name answers 409 AlreadyExists."""
    core.create_namespaced_config_map(namespace, _cm("dup"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(namespace, _cm("dup"))
    assert err.value.status == 409
    assert json.loads(err.value.body)["reason"] == "AlreadyExists"


def test_update_with_stale_resource_version_conflicts(core: client.CoreV1Api, namespace: str) -> None:
    """An update carrying an old resourceVersion answers 409 Conflict; a fresh one succeeds."""
    first = core.create_namespaced_config_map(namespace, _cm("occ"))
    body = _cm("occ", data={"k": "v2"})
    body["metadata"]["resourceVersion"] = first.metadata.resource_version  # type: ignore[index]
    second = core.replace_namespaced_config_map("occ", namespace, body)
    assert second.data == {"k": "v2"}
    stale = _cm("occ", data={"k": "v3"})
    stale["metadata"]["resourceVersion"] = first.metadata.resource_version  # type: ignore[index]
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("occ", namespace, stale)
    status = json.loads(err.value.body)
    assert err.value.status == 409 and status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]


def test_invalid_label_is_422_with_cause(core: client.CoreV1Api, namespace: str) -> None:
    """A label value with a space is rejected with 422 Invalid and a metadata.labels cause."""
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(namespace, _cm("bad", labels={"team": "a b"}))
    status = json.loads(err.value.body)
    assert err.value.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.labels"


def test_create_in_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    """Creating into a namespace that does not exist answers 404 for the namespace."""
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-namespace-xyz", _cm("x"))
    assert err.value.status == 404
    assert json.loads(err.value.body)["details"]["kind"] == "namespaces"


def test_dry_run_create_persists_nothing(core: client.CoreV1Api, namespace: str) -> None:
    """dryRun=All returns the would-be object without storing it."""
    result = core.create_namespaced_config_map(namespace, _cm("dry"), dry_run="All")
    assert result.metadata.name == "dry"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("dry", namespace)
    assert err.value.status == 404


def test_delete_then_get_is_404(core: client.CoreV1Api, namespace: str) -> None:
    """A deleted ConfigMap is gone; deleting it again is 404."""
    core.create_namespaced_config_map(namespace, _cm("gone"))
    core.delete_namespaced_config_map("gone", namespace)
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map("gone", namespace)
    assert err.value.status == 404


def test_label_selectors(core: client.CoreV1Api, namespace: str) -> None:
    """Equality, inequality, set and existence label selectors pick the right objects."""
    core.create_namespaced_config_map(namespace, _cm("a", {"tier": "gpu", "team": "ml"}))
    core.create_namespaced_config_map(namespace, _cm("b", {"tier": "cpu", "team": "ml"}))
    core.create_namespaced_config_map(namespace, _cm("c", {"tier": "gpu"}))

    def names(selector: str) -> list[str]:
        # Only this test's objects: a real cluster also publishes kube-root-ca.crt in every namespace.
        listed = core.list_namespaced_config_map(namespace, label_selector=selector).items
        return sorted(i.metadata.name for i in listed if i.metadata.name in ("a", "b", "c"))

    assert names("tier=gpu") == ["a", "c"]
    assert names("tier!=gpu") == ["b"]
    assert names("tier in (cpu,tpu)") == ["b"]
    assert names("team") == ["a", "b"]
    assert names("!team") == ["c"]
    assert names("tier=gpu,team=ml") == ["a"]


def test_field_selector_on_name_and_unsupported_field(core: client.CoreV1Api, namespace: str) -> None:
    """metadata.name field selectors filter; an unsupported field label answers 400."""
    core.create_namespaced_config_map(namespace, _cm("x1"))
    core.create_namespaced_config_map(namespace, _cm("x2"))
    found = core.list_namespaced_config_map(namespace, field_selector="metadata.name=x2").items
    assert [i.metadata.name for i in found] == ["x2"]
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(namespace, field_selector="data.k=v")
    assert err.value.status == 400


def test_limit_and_continue_page_through_everything(core: client.CoreV1Api, namespace: str) -> None:
    """Paging with limit/continue returns each object exactly once, with remainingItemCount."""
    for i in range(7):
        core.create_namespaced_config_map(namespace, _cm(f"page-{i}"))
    total = len(core.list_namespaced_config_map(namespace).items)  # real clusters add kube-root-ca.crt
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map(namespace, limit=3, _continue=token)
        pages += 1
        seen += [i.metadata.name for i in page.items]
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == total - len(seen)
    assert sorted(n for n in seen if n.startswith("page-")) == [f"page-{i}" for i in range(7)]
    assert pages >= 3


def test_generation_counts_spec_changes_only(api_client: client.ApiClient, namespace: str) -> None:
    """metadata.generation rises on a spec change and stays on a label change."""
    apps = client.AppsV1Api(api_client)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    created = apps.create_namespaced_deployment(namespace, deployment)
    assert created.metadata.generation == 1
    relabelled = apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert relabelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_unparseable_resource_quantity_is_rejected(core: client.CoreV1Api, namespace: str) -> None:
    """A container limit that is not a quantity is refused (400/422) and nothing is stored."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "q"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "registry.k8s.io/pause:3.9",
                    "resources": {"limits": {"nvidia.com/gpu": "two"}},
                }
            ]
        },
    }
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(namespace, pod)
    assert err.value.status in (400, 422)
    assert not core.list_namespaced_pod(namespace).items


def test_finalizer_holds_deletion_until_removed(core: client.CoreV1Api, namespace: str) -> None:
    """An object with a finalizer gets a deletionTimestamp on delete and disappears once the
    finalizer is removed."""
    body = _cm("fin")
    body["metadata"]["finalizers"] = ["example.com/hold"]  # type: ignore[index]
    core.create_namespaced_config_map(namespace, body)
    core.delete_namespaced_config_map("fin", namespace)
    held = core.read_namespaced_config_map("fin", namespace)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("fin", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("fin", namespace)
    assert err.value.status == 404


def test_delete_collection_by_label(core: client.CoreV1Api, namespace: str) -> None:
    """deletecollection with a label selector deletes exactly the matching objects."""
    core.create_namespaced_config_map(namespace, _cm("d1", {"batch": "x"}))
    core.create_namespaced_config_map(namespace, _cm("d2", {"batch": "x"}))
    core.create_namespaced_config_map(namespace, _cm("keep", {"batch": "y"}))
    core.delete_collection_namespaced_config_map(namespace, label_selector="batch=x")
    left = [i.metadata.name for i in core.list_namespaced_config_map(namespace, label_selector="batch").items]
    assert left == ["keep"]


def test_generate_name(core: client.CoreV1Api, namespace: str) -> None:
    """generateName makes a unique name with the given prefix."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}, "data": {}}
    first = core.create_namespaced_config_map(namespace, body).metadata.name
    second = core.create_namespaced_config_map(namespace, body).metadata.name
    assert first.startswith("gen-") and second.startswith("gen-") and first != second
