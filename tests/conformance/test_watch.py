"""Watch semantics through the official client: event types and order, resuming from a
resourceVersion, selector transitions, and 410 Gone for a compacted version."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.conformance.conftest import Target
from tests.conformance.helpers import auth_headers


def _cm(name: str, labels: dict[str, str] | None = None, value: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": {"k": value},
    }


def _events(
    core: client.CoreV1Api, namespace: str, rv: str, count: int, **kwargs: Any
) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=10, **kwargs
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) >= count:
            w.stop()
    return seen


def test_watch_from_version_sees_added_modified_deleted(core: client.CoreV1Api, namespace: str) -> None:
    """Changes after the listed resourceVersion arrive in order as ADDED, MODIFIED, DELETED."""
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, _cm("w"))
    core.patch_namespaced_config_map("w", namespace, {"data": {"k": "2"}})
    core.delete_namespaced_config_map("w", namespace)
    assert _events(core, namespace, rv, 3) == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_watch_streams_events_that_happen_later(core: client.CoreV1Api, namespace: str) -> None:
    """A running watch receives an object created after it started."""
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    timer = threading.Timer(0.3, lambda: core.create_namespaced_config_map(namespace, _cm("late")))
    timer.start()
    try:
        assert _events(core, namespace, rv, 1) == [("ADDED", "late")]
    finally:
        timer.join()


def test_watch_resumes_after_last_seen_version(core: client.CoreV1Api, namespace: str) -> None:
    """Watching from the version of an event replays only what came after it."""
    core.create_namespaced_config_map(namespace, _cm("r1"))
    middle = core.create_namespaced_config_map(namespace, _cm("r2")).metadata.resource_version
    core.create_namespaced_config_map(namespace, _cm("r3"))
    assert _events(core, namespace, middle, 1) == [("ADDED", "r3")]


def test_label_selector_watch_reports_leaving_and_entering(core: client.CoreV1Api, namespace: str) -> None:
    """With a label selector, relabelling out of it is DELETED and back into it is ADDED."""
    core.create_namespaced_config_map(namespace, _cm("sel", {"watch": "yes"}))
    rv = core.read_namespaced_config_map("sel", namespace).metadata.resource_version
    core.patch_namespaced_config_map("sel", namespace, {"metadata": {"labels": {"watch": "no"}}})
    core.patch_namespaced_config_map("sel", namespace, {"metadata": {"labels": {"watch": "yes"}}})
    assert _events(core, namespace, rv, 2, label_selector="watch=yes") == [
        ("DELETED", "sel"),
        ("ADDED", "sel"),
    ]


def test_watch_without_version_starts_with_current_objects(core: client.CoreV1Api, namespace: str) -> None:
    """A watch without a resourceVersion first sends ADDED for every existing object."""
    core.create_namespaced_config_map(namespace, _cm("s1", {"set": "x"}))
    core.create_namespaced_config_map(namespace, _cm("s2", {"set": "x"}))
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map, namespace, label_selector="set=x", timeout_seconds=10
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 2:
            w.stop()
    assert sorted(seen) == [("ADDED", "s1"), ("ADDED", "s2")]


def test_too_old_version_is_410_gone(core: client.CoreV1Api, namespace: str, target: Target) -> None:
    """After the history is compacted, a watch from an older version ends with 410."""
    if target.sandbox is None:
        pytest.skip("compaction is only controllable in the sandbox")
    old = core.create_namespaced_config_map(namespace, _cm("old")).metadata.resource_version
    core.create_namespaced_config_map(namespace, _cm("newer"))
    target.sandbox.store.compact()
    with pytest.raises(ApiException) as err:
        _events(core, namespace, old, 1)
    assert err.value.status == 410


def test_bookmarks_carry_a_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    """allowWatchBookmarks yields BOOKMARK events whose object carries a resourceVersion."""
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    w = watch.Watch()
    bookmark = None
    for event in w.stream(
        core.list_namespaced_config_map,
        namespace,
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=5,
        deserialize=False,
    ):
        if event["type"] == "BOOKMARK":
            bookmark = event["object"]
            w.stop()
    if bookmark is None:
        pytest.skip("the server sent no bookmark within the timeout (allowed by the API)")
    assert bookmark["metadata"]["resourceVersion"]


def test_watch_as_table_sends_rows(core: client.CoreV1Api, namespace: str) -> None:
    """A watch asking for `as=Table` (kubectl get -w) gets Table events with one row per object."""
    import json

    core.create_namespaced_config_map(namespace, _cm("tab"))
    api = core.api_client
    response = api.rest_client.pool_manager.request(
        "GET",
        f"{api.configuration.host}/api/v1/namespaces/{namespace}/configmaps?watch=true&timeoutSeconds=1",
        headers={
            **auth_headers(api),
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        },
        preload_content=False,
    )
    # A real cluster also has kube-root-ca.crt in every namespace: find this test's row.
    events = [json.loads(line) for chunk in response.stream() for line in chunk.splitlines() if line.strip()]
    response.release_conn()
    tables = [e["object"] for e in events if e["type"] == "ADDED"]
    assert tables and all(t["kind"] == "Table" for t in tables)
    assert tables[0]["columnDefinitions"][0]["name"] == "Name"
    assert "tab" in [t["rows"][0]["cells"][0] for t in tables]
