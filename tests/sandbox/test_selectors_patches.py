"""Selector parsing and the patch types, on plain dicts."""

from __future__ import annotations

import pytest

from sandbox.api.errors import ApiError
from sandbox.api.patches import STRATEGIC_PATCH, apply_patch, merge_patch, strategic_merge
from sandbox.api.selectors import field_matcher, label_matcher


def test_malformed_label_selector_is_400() -> None:
    """A selector that does not parse is a 400 BadRequest."""
    with pytest.raises(ApiError) as err:
        label_matcher("a in (")
    assert err.value.code == 400


def test_field_selector_not_equal_and_unsupported_field() -> None:
    """`!=` excludes; a field the kind does not index is 400 'field label not supported'."""
    match = field_matcher("status.phase!=Succeeded,spec.nodeName=n1", "Pod")
    assert match is not None
    assert match({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
    assert not match(
        {"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}}
    )
    with pytest.raises(ApiError) as err:
        field_matcher("spec.nodeName=n1", "ConfigMap")
    assert "field label not supported" in err.value.message


def test_merge_patch_null_deletes_nested_key() -> None:
    """RFC 7386: null removes a key, objects merge."""
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}


def test_strategic_merge_taints_by_key_and_delete_directive() -> None:
    """Taints merge by key+effect; `$patch: delete` removes one item."""
    node = {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoSchedule"}]}}
    patched = strategic_merge(
        node,
        {
            "spec": {
                "taints": [
                    {"key": "b", "effect": "NoSchedule", "$patch": "delete"},
                    {"key": "c", "effect": "NoExecute"},
                ]
            }
        },
    )
    assert [t["key"] for t in patched["spec"]["taints"]] == ["a", "c"]


def test_strategic_merge_is_refused_for_custom_resources() -> None:
    """Custom resources do not support strategic merge patch (415)."""
    with pytest.raises(ApiError) as err:
        apply_patch(STRATEGIC_PATCH, {"spec": {}}, {"spec": {"x": 1}}, custom=True)
    assert err.value.code == 415


def test_json_patch_failed_test_op_is_422() -> None:
    """A JSON patch whose `test` fails is rejected, leaving the object unchanged."""
    target = {"metadata": {"name": "x"}, "data": {"a": "1"}}
    with pytest.raises(ApiError) as err:
        apply_patch(
            "application/json-patch+json",
            target,
            [{"op": "test", "path": "/data/a", "value": "2"}],
            custom=False,
        )
    assert err.value.code == 422
    assert target["data"] == {"a": "1"}
