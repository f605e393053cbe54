"""managedFields encoding and server-side apply rules, on plain dicts (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.api.errors import ApiError
from sandbox.api.fieldsets import fields_of, from_fields_v1, render, to_fields_v1
from sandbox.api.ssa import record_update, server_side_apply


def _apply(
    live: dict[str, Any] | None, applied: dict[str, Any], manager: str, force: bool = False
) -> dict[str, Any]:
    return server_side_apply(
        live,
        applied,
        manager=manager,
        force=force,
        api_version="v1",
        now="t",
        plural="pods",
        group="",
        include_status=False,
    )


def _pod(containers: list[dict[str, Any]], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": labels or {}},
        "spec": {"containers": containers},
    }


def test_fields_v1_round_trip_with_keyed_list_items() -> None:
    """Keyed list items become k: entries with a `.`, and decoding gives the same set back."""
    fields = fields_of(_pod([{"name": "main", "image": "a"}], {"app": "x"}))
    tree = to_fields_v1(fields)
    item = tree["f:spec"]["f:containers"]['k:{"name":"main"}']
    assert list(item) == [".", "f:image", "f:name"]
    assert tree["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
    assert from_fields_v1(tree) == fields


def test_identity_fields_are_not_tracked() -> None:
    """apiVersion, kind, name and server-set metadata never appear in a field set."""
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n", "uid": "u", "resourceVersion": "3"},
        "data": {"a": "1"},
    }
    assert fields_of(obj) == {("f:data",), ("f:data", "f:a")}


def test_render_paths_like_conflict_messages() -> None:
    """Paths render as the API server prints them in conflicts."""
    assert (
        render(("f:spec", "f:containers", 'k:{"name":"main"}', "f:image"))
        == '.spec.containers[name="main"].image'
    )


def test_conflicting_container_image_needs_force() -> None:
    """Changing another manager's container image conflicts; force transfers it."""
    live = _apply(None, _pod([{"name": "main", "image": "a:1"}]), "alice")
    with pytest.raises(ApiError) as err:
        _apply(live, _pod([{"name": "main", "image": "a:2"}]), "bob")
    assert err.value.code == 409
    assert err.value.details is not None
    assert err.value.details["causes"][0]["field"] == '.spec.containers[name="main"].image'
    forced = _apply(live, _pod([{"name": "main", "image": "a:2"}]), "bob", force=True)
    assert forced["spec"]["containers"] == [{"name": "main", "image": "a:2"}]


def test_dropping_a_container_removes_only_unshared_items() -> None:
    """A container one manager stops applying disappears unless another manager owns it."""
    live = _apply(None, _pod([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]), "alice")
    live = _apply(live, _pod([{"name": "a", "image": "1"}]), "alice")
    assert [c["name"] for c in live["spec"]["containers"]] == ["a"]


def test_update_records_changed_fields_for_its_manager() -> None:
    """An update gives its manager the fields it changed and takes them from the applier."""
    live = _apply(None, _pod([{"name": "a", "image": "1"}], {"x": "1"}), "alice")
    new = {**live, "metadata": {**live["metadata"], "labels": {"x": "2"}}}
    record_update(live, new, manager="editor", api_version="v1", now="t", include_status=False)
    entries = {e["manager"]: e["fieldsV1"] for e in new["metadata"]["managedFields"]}
    assert entries["editor"] == {"f:metadata": {"f:labels": {"f:x": {}}}}
    assert "f:x" not in entries["alice"]["f:metadata"]["f:labels"]


def _created_by(manager: str, obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as written by an Update of `manager` (the kubelet registering a Node, say)."""
    new = {**obj, "metadata": dict(obj["metadata"])}
    record_update(None, new, manager=manager, api_version="v1", now="t", include_status=False)
    return new


def test_emptied_map_drops_only_the_appliers_keys() -> None:
    """Applying `labels: {}` removes the applier's labels and keeps those another manager set."""
    live = _created_by("kubelet", _pod([{"name": "a", "image": "1"}], {"host": "n0"}))
    live = _apply(live, {**_pod([]), "metadata": {"name": "p", "labels": {"pool": "h100"}}}, "gpuctl")
    after = _apply(live, {**_pod([]), "metadata": {"name": "p", "labels": {}}}, "gpuctl")
    assert after["metadata"]["labels"] == {"host": "n0"}
    assert after["spec"]["containers"] == [{"name": "a", "image": "1"}]


def test_dropped_field_leaves_no_owner_behind() -> None:
    """A field an applier removes is taken from every manager that shared it."""
    live = _apply(None, _pod([{"name": "a", "image": "1"}], {"x": "1"}), "alice")
    live = _apply(live, {**_pod([]), "metadata": {"name": "p", "labels": {"x": "1"}}}, "bob")
    live = _apply(live, _pod([{"name": "a", "image": "1"}]), "alice")
    live = _apply(live, {**_pod([]), "metadata": {"name": "p"}}, "bob")
    assert "x" not in (live["metadata"].get("labels") or {})
    entries = live["metadata"]["managedFields"]
    labels = [e["fieldsV1"].get("f:metadata", {}).get("f:labels", {}) for e in entries]
    assert all("f:x" not in owned for owned in labels)


def test_setting_a_value_another_manager_owns_still_conflicts() -> None:
    """Changing a label another manager owns is a 409 naming that label, unless forced."""
    live = _created_by("kubelet", _pod([{"name": "a", "image": "1"}], {"host": "n0"}))
    with pytest.raises(ApiError) as err:
        _apply(live, {**_pod([]), "metadata": {"name": "p", "labels": {"host": "n1"}}}, "gpuctl")
    assert err.value.code == 409 and "conflict with \"kubelet\"" in err.value.message
    assert err.value.details is not None
    assert [c["field"] for c in err.value.details["causes"]] == [".metadata.labels.host"]
    relabel = {**_pod([]), "metadata": {"name": "p", "labels": {"host": "n1"}}}
    forced = _apply(live, relabel, "gpuctl", force=True)
    assert forced["metadata"]["labels"] == {"host": "n1"}
