"""Normal forms for comparing objects: what the server sets on its own (managedFields,
resourceVersion, uid, timestamps, generation, status) is dropped, and so are the fields
that `gpuctl.yaml` tells gpuctl to ignore, by JSON pointer or by owning field manager.

Pure functions over plain dicts; used by diff and by the no-op check of apply.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from schemas.kinds import DiffIgnoreRule
from schemas.refs import ObjectRef

SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
SERVER_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deprecated.daemonset.template.generation",
)


def strip_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `obj` without status and server-set metadata."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in SERVER_METADATA:
            meta.pop(key, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for key in SERVER_ANNOTATIONS:
                annotations.pop(key, None)
            if not annotations:
                meta.pop("annotations", None)
    return out


def rules_for(ref: ObjectRef, rules: Iterable[DiffIgnoreRule]) -> list[DiffIgnoreRule]:
    """The ignore rules of `gpuctl.yaml` that select `ref` (a rule without a group selects
    its kind in any API group)."""
    return [
        rule
        for rule in rules
        if rule.kind == ref.kind
        and rule.group in ("", ref.group)
        and (rule.name is None or rule.name == ref.name)
        and (rule.namespace is None or rule.namespace == ref.namespace)
    ]


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def remove_pointer(obj: Any, pointer: str) -> None:
    """Remove the value at a JSON pointer (RFC 6901) if it is there; `*` matches any list item."""
    tokens = [_unescape(t) for t in pointer.lstrip("/").split("/")] if pointer not in ("", "/") else []
    if tokens:
        _remove_tokens(obj, tokens)


def _remove_tokens(node: Any, tokens: list[str]) -> None:
    head, rest = tokens[0], tokens[1:]
    if isinstance(node, dict):
        if head not in node:
            return
        if rest:
            _remove_tokens(node[head], rest)
        else:
            del node[head]
    elif isinstance(node, list):
        indices = range(len(node)) if head == "*" else [int(head)] if head.isdigit() else []
        for index in sorted(indices, reverse=True):
            if index >= len(node):
                continue
            if rest:
                _remove_tokens(node[index], rest)
            else:
                del node[index]


def remove_manager_fields(obj: dict[str, Any], live: dict[str, Any], managers: Iterable[str]) -> None:
    """Remove from `obj` every field that one of `managers` owns in `live`'s managedFields."""
    wanted = set(managers)
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") in wanted and isinstance(entry.get("fieldsV1"), dict):
            _remove_fieldset(obj, entry["fieldsV1"])


def _remove_fieldset(node: Any, fields: dict[str, Any]) -> None:
    for key, sub in fields.items():
        if key == ".":
            continue
        if key.startswith("f:") and isinstance(node, dict):
            name = key[2:]
            if name not in node:
                continue
            if sub and any(k != "." for k in sub):
                _remove_fieldset(node[name], sub)
            else:
                del node[name]
        elif key.startswith("k:") and isinstance(node, list):
            selector = json.loads(key[2:])
            for index in range(len(node) - 1, -1, -1):
                item = node[index]
                if isinstance(item, dict) and all(item.get(k) == v for k, v in selector.items()):
                    if sub and any(k != "." for k in sub):
                        _remove_fieldset(item, sub)
                    else:
                        del node[index]
        elif key.startswith("v:") and isinstance(node, list):
            value = json.loads(key[2:])
            node[:] = [item for item in node if item != value]


def normalise(
    obj: dict[str, Any],
    *,
    live: dict[str, Any] | None = None,
    rules: Iterable[DiffIgnoreRule] = (),
) -> dict[str, Any]:
    """`obj` without server-set fields and without what `rules` ignore. Manager rules read
    the ownership from `live` (the object as stored) when given, else from `obj` itself."""
    out = strip_server_fields(obj)
    for rule in rules:
        for pointer in rule.json_pointers:
            remove_pointer(out, pointer)
        if rule.managers:
            remove_manager_fields(out, live if live is not None else obj, rule.managers)
    return out
