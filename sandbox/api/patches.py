"""The patch types of PATCH requests: JSON patch (RFC 6902, via `jsonpatch`), JSON merge
patch (RFC 7386) and strategic merge patch, plus the keyed merge server-side apply uses.

Strategic merge here covers what kubectl and controllers send: maps merged recursively,
`null` deleting a key, keyed lists (containers by name, taints by key+effect, ...) merged
item by item, `$patch: delete|replace` directives, `$deleteFromPrimitiveList`, and the
ordering hints `$setElementOrder` and `$retainKeys` (accepted and applied/ignored).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from sandbox.api.errors import ApiError, bad_request, unsupported_media_type
from sandbox.api.fieldsets import list_keys
from sandbox.api.resources import SET_LISTS

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH_YAML = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH_YAML]


def apply_patch(content_type: str, target: dict[str, Any], patch: Any, *, custom: bool) -> dict[str, Any]:
    """Apply a non-SSA patch to a copy of `target`; `custom` (custom resources) refuses
    strategic merge, as the API server does."""
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json patch must be a list of operations")
        try:
            result = jsonpatch.apply_patch(target, patch, in_place=False)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise ApiError(
                422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
            ) from exc
        if not isinstance(result, dict):
            raise bad_request("json patch must leave an object")
        return result
    if content_type == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise bad_request("merge patch must be a JSON object")
        merged = merge_patch(target, patch)
        assert isinstance(merged, dict)
        return merged
    if content_type == STRATEGIC_PATCH:
        if custom:
            raise unsupported_media_type(content_type, [JSON_PATCH, MERGE_PATCH, APPLY_PATCH_YAML])
        if not isinstance(patch, dict):
            raise bad_request("strategic merge patch must be a JSON object")
        return strategic_merge(copy.deepcopy(target), patch)
    raise unsupported_media_type(content_type, PATCH_TYPES)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge `patch` into `target` (modified in place and returned)."""
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            target[field] = [v for v in target.get(field) or [] if v not in value]
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = strategic_merge(target[key], value)
        elif isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = _merge_list(key, target[key], value)
        elif isinstance(value, dict):
            target[key] = strategic_merge({}, value)
        else:
            target[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        for key in list(target):
            if key not in retain:
                del target[key]
    return target


def _merge_list(field: str, live: list[Any], patch: list[Any]) -> list[Any]:
    if field in SET_LISTS:
        return live + [v for v in patch if v not in live]
    items = [p for p in patch if not (isinstance(p, dict) and p.get("$patch") == "replace")]
    if len(items) != len(patch):  # `$patch: replace` item: the list is replaced
        return copy.deepcopy(items)
    keys = list_keys(field, live + items)
    if keys is None:
        return copy.deepcopy(patch)
    result = copy.deepcopy(live)
    for item in items:
        match = next(
            (i for i, cur in enumerate(result) if all(cur.get(k) == item.get(k) for k in keys if k in item)),
            None,
        )
        if item.get("$patch") == "delete":
            if match is not None:
                del result[match]
            continue
        if match is None:
            result.append(strategic_merge({}, item))
        else:
            result[match] = strategic_merge(result[match], item)
    return result


def apply_merge(live: Any, applied: Any, field: str = "") -> Any:
    """Server-side apply's merge of an applied configuration into the live object: maps
    merge, keyed lists merge by key, set lists union, atomic lists and scalars replace."""
    if isinstance(applied, dict) and isinstance(live, dict):
        result = dict(live)
        for key, value in applied.items():
            result[key] = apply_merge(live.get(key), value, key)
        return result
    if isinstance(applied, list) and isinstance(live, list):
        if field in SET_LISTS:
            return live + [v for v in applied if v not in live]
        keys = list_keys(field, live + applied)
        if keys is None:
            return copy.deepcopy(applied)
        merged = list(live)
        for item in applied:
            match = next(
                (i for i, cur in enumerate(merged) if all(cur.get(k) == item.get(k) for k in keys)), None
            )
            if match is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[match] = apply_merge(merged[match], item)
        return merged
    return copy.deepcopy(applied)
