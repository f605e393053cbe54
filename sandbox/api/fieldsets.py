"""Field sets: the `fieldsV1` vocabulary of managedFields, as sets of paths.

A path is a tuple of fieldsV1 keys: `f:<field>` for a struct or map field, `k:<json>` for
an item of a keyed list (containers by name, taints by key and effect), `v:<json>` for an
item of a set list (finalizers). A path in a set means "this field is owned"; a node that
is owned and also has owned children is written with the `.` key, as the API server does.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.api.resources import LIST_MAP_KEYS, PORT_KEYS, SET_LISTS

Path = tuple[str, ...]
FieldSet = frozenset[Path]

# Identity and server-owned fields are never tracked in managedFields.
_IGNORED_TOP = frozenset({"f:apiVersion", "f:kind"})
_IGNORED_META = frozenset(
    {
        "f:name",
        "f:namespace",
        "f:uid",
        "f:resourceVersion",
        "f:generation",
        "f:creationTimestamp",
        "f:managedFields",
        "f:selfLink",
        "f:deletionTimestamp",
        "f:deletionGracePeriodSeconds",
        "f:generateName",
    }
)
# Map-typed fields: the map itself is owned (written `.`) besides its keys.
_MAP_FIELDS = frozenset(
    {
        "labels",
        "annotations",
        "data",
        "binaryData",
        "stringData",
        "nodeSelector",
        "matchLabels",
        "limits",
        "requests",
        "capacity",
        "allocatable",
        "hard",
        "selector",
    }
)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def list_keys(field: str, items: list[Any]) -> tuple[str, ...] | None:
    """Merge keys of a keyed list called `field`, or None when the list is atomic or a set."""
    if field == "ports":
        first = items[0] if items and isinstance(items[0], dict) else {}
        for marker, port_keys in PORT_KEYS.items():
            if marker in first:
                return port_keys
        return None
    keys = LIST_MAP_KEYS.get(field)
    if keys is None or not all(isinstance(i, dict) for i in items):
        return None
    return keys


def item_key(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    picked = {k: item[k] for k in keys if k in item}
    return "k:" + json.dumps(picked, separators=(",", ":"), sort_keys=True)


def value_key(item: Any) -> str:
    return "v:" + json.dumps(item, separators=(",", ":"), sort_keys=True)


def fields_of(obj: dict[str, Any], *, include_status: bool = True) -> FieldSet:
    """Every owned path of an object, as the API server tracks it."""
    out: set[Path] = set()
    for key, value in obj.items():
        element = "f:" + key
        if element in _IGNORED_TOP or (key == "status" and not include_status):
            continue
        if key == "metadata" and isinstance(value, dict):
            for mkey, mvalue in value.items():
                melement = "f:" + mkey
                if melement not in _IGNORED_META:
                    _walk(mvalue, ("f:metadata", melement), mkey, out)
            continue
        _walk(value, (element,), key, out)
    return frozenset(out)


def _walk(value: Any, path: Path, field: str, out: set[Path]) -> None:
    if isinstance(value, dict):
        if not value or field in _MAP_FIELDS:
            out.add(path)
        for key, child in value.items():
            _walk(child, (*path, "f:" + key), key, out)
        return
    if isinstance(value, list) and value:
        if field in SET_LISTS:
            for item in value:
                out.add((*path, value_key(item)))
            return
        keys = list_keys(field, value)
        if keys is not None:
            for item in value:
                item_path = (*path, item_key(item, keys))
                out.add(item_path)
                for key, child in item.items():
                    _walk(child, (*item_path, "f:" + key), key, out)
            return
    out.add(path)


def value_at(obj: Any, path: Path) -> Any:
    """The value at `path`, or MISSING."""
    current = obj
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            if not isinstance(current, dict) or rest not in current:
                return MISSING
            current = current[rest]
        elif kind == "k":
            wanted = json.loads(rest)
            if not isinstance(current, list):
                return MISSING
            current = next(
                (i for i in current if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())),
                MISSING,
            )
            if current is MISSING:
                return MISSING
        elif kind == "v":
            wanted = json.loads(rest)
            if not isinstance(current, list) or wanted not in current:
                return MISSING
            current = wanted
        else:
            return MISSING
    return current


def remove_at(obj: dict[str, Any], path: Path) -> None:
    """Delete the field or list item at `path` (no-op when it is absent)."""
    parent = value_at(obj, path[:-1]) if len(path) > 1 else obj
    if parent is MISSING:
        return
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        wanted = json.loads(rest)
        parent[:] = [
            i for i in parent if not (isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items()))
        ]
    elif kind == "v" and isinstance(parent, list):
        wanted = json.loads(rest)
        parent[:] = [i for i in parent if i != wanted]


def to_fields_v1(fields: FieldSet) -> dict[str, Any]:
    """Encode a set of paths as a `fieldsV1` tree."""
    tree: dict[str, Any] = {}
    for path in sorted(fields):
        node = tree
        for element in path:
            node = node.setdefault(element, {})

    def render_node(node: dict[str, Any], path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {".": {}} if node and path in fields else {}
        for key, child in node.items():
            out[key] = render_node(child, (*path, key))
        return out

    return render_node(tree, ())


def from_fields_v1(tree: dict[str, Any]) -> FieldSet:
    """Decode a `fieldsV1` tree into a set of paths."""
    out: set[Path] = set()

    def visit(node: dict[str, Any], path: Path) -> None:
        if path and (not node or "." in node):
            out.add(path)
        for key, child in node.items():
            if key != ".":
                visit(child, (*path, key))

    visit(tree, ())
    return frozenset(out)


def leaf_paths(fields: FieldSet) -> FieldSet:
    """Paths with no owned descendants (the values that can conflict)."""
    prefixes = {path[:i] for path in fields for i in range(1, len(path))}
    return frozenset(p for p in fields if p not in prefixes)


def render(path: Path) -> str:
    """`.spec.containers[name="x"].image` style, as conflict messages print paths."""
    parts = []
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            parts.append("." + rest)
        elif kind == "k":
            keys = json.loads(rest)
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        else:
            parts.append(f"[={rest}]")
    return "".join(parts)
