"""managedFields bookkeeping and server-side apply.

Every write records which manager owns which fields (`metadata.managedFields`, one entry per
manager, operation and subresource). An Update takes over the fields it changes without a
conflict; an Apply conflicts (409, one cause per field) when another manager owns a field
the applied configuration sets to a different value, unless `force` moves ownership; and
fields a manager stops applying are removed when no other manager owns them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sandbox.api.errors import ApiError
from sandbox.api.fieldsets import (
    FieldSet,
    Path,
    fields_of,
    from_fields_v1,
    leaf_paths,
    remove_at,
    render,
    to_fields_v1,
    value_at,
)
from sandbox.api.patches import apply_merge

APPLY = "Apply"
UPDATE = "Update"


@dataclass
class ManagerEntry:
    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str
    fields: FieldSet

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.manager, self.operation, self.subresource)

    def render(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def read_entries(obj: dict[str, Any] | None) -> list[ManagerEntry]:
    if obj is None:
        return []
    entries = []
    for raw in obj.get("metadata", {}).get("managedFields") or []:
        entries.append(
            ManagerEntry(
                manager=raw.get("manager", ""),
                operation=raw.get("operation", UPDATE),
                api_version=raw.get("apiVersion", ""),
                time=raw.get("time", ""),
                subresource=raw.get("subresource", ""),
                fields=from_fields_v1(raw.get("fieldsV1") or {}),
            )
        )
    return entries


def _write_entries(obj: dict[str, Any], entries: list[ManagerEntry]) -> None:
    kept = [e.render() for e in entries if e.fields]
    if kept:
        obj["metadata"]["managedFields"] = kept
    else:
        obj["metadata"].pop("managedFields", None)


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
    include_status: bool = True,
) -> None:
    """Give `manager` the fields this create/update/patch changed (in `new`'s managedFields)."""
    old_fields = fields_of(old, include_status=include_status) if old is not None else frozenset()
    new_fields = fields_of(new, include_status=include_status)
    leaves = leaf_paths(new_fields)
    changed = {
        p for p in new_fields if p not in old_fields or (p in leaves and value_at(old, p) != value_at(new, p))
    }
    removed = old_fields - new_fields
    entries = read_entries(old)
    taken = changed | removed
    mine: ManagerEntry | None = None
    for entry in entries:
        if entry.identity == (manager, UPDATE, subresource):
            mine = entry
        else:
            entry.fields = entry.fields - taken
    if changed or mine is not None:
        previous = mine.fields if mine is not None else frozenset()
        owned = frozenset((previous | changed) - removed) & new_fields
        if mine is None:
            mine = ManagerEntry(manager, UPDATE, api_version, now, subresource, owned)
            entries.append(mine)
        else:
            if owned != mine.fields:
                mine.time = now
            mine.fields = owned
            mine.api_version = api_version
    _write_entries(new, entries)


def _conflict_error(
    conflicts: dict[tuple[str, str], list[Path]], name: str, plural: str, group: str
) -> ApiError:
    total = sum(len(paths) for paths in conflicts.values())
    lines, causes = [], []
    for (manager, api_version), paths in conflicts.items():
        who = f'"{manager}" using {api_version}'
        rendered = sorted(render(p) for p in paths)
        if len(rendered) == 1:
            lines.append(f"conflict with {who}: {rendered[0]}")
        else:
            lines.append(f"conflicts with {who}:\n" + "\n".join(f"- {r}" for r in rendered))
        causes += [
            {"type": "FieldManagerConflict", "message": f"conflict with {who}", "field": r} for r in rendered
        ]
    plural_s = "" if total == 1 else "s"
    message = f"Apply failed with {total} conflict{plural_s}: " + "\n".join(lines)
    details: dict[str, Any] = {"name": name, "kind": plural, "causes": causes}
    if group:
        details["group"] = group
    return ApiError(409, "Conflict", message, details)


def _compare(
    live: dict[str, Any] | None, merged: dict[str, Any], *, include_status: bool
) -> tuple[FieldSet, FieldSet]:
    """What an apply changes, as structured-merge-diff's Compare sees it: (added or modified
    paths, removed paths). A value counts as modified only where it is a leaf on both sides,
    so a map that merely gains or loses keys is not itself a change."""
    before = fields_of(live, include_status=include_status) if live is not None else frozenset()
    after = fields_of(merged, include_status=include_status)
    both_leaves = leaf_paths(before) & leaf_paths(after)
    modified = frozenset(p for p in both_leaves if value_at(live, p) != value_at(merged, p))
    return (after - before) | modified, before - after


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    api_version: str,
    now: str,
    plural: str,
    group: str,
    include_status: bool,
    subresource: str = "",
) -> dict[str, Any]:
    """The object after `manager` applies `applied` to `live` (None: create). Through the
    `status` subresource only status fields are applied and owned."""
    applied_fields = fields_of(applied, include_status=include_status)
    if subresource == "status":
        applied_fields = frozenset(p for p in applied_fields if p[0] == "f:status")
        applied = {**applied, "metadata": {"name": applied["metadata"]["name"]}}
        applied = {k: v for k, v in applied.items() if k in ("apiVersion", "kind", "metadata", "status")}
    entries = read_entries(live)
    me = (manager, APPLY, subresource)
    mine = next((e for e in entries if e.identity == me), None)
    others = [e for e in entries if e.identity != me]

    result = copy.deepcopy(live) if live is not None else {}
    if mine is not None:
        owned_by_others = frozenset().union(*(e.fields for e in others)) if others else frozenset()
        dropped = mine.fields - applied_fields - owned_by_others
        for path in sorted(dropped, key=len):  # parents first: an emptied keyed item loses its key
            still_needed = any(p[: len(path)] == path for p in owned_by_others | applied_fields if p != path)
            if not still_needed:
                remove_at(result, path)

    body = {k: v for k, v in applied.items() if include_status or k != "status"}
    body_meta = {
        k: v
        for k, v in (body.get("metadata") or {}).items()
        if k
        in ("labels", "annotations", "finalizers", "ownerReferences", "name", "namespace", "generateName")
    }
    body = {**body, "metadata": body_meta}
    merged = apply_merge(result, body)
    assert isinstance(merged, dict)

    changed, removed = _compare(live, merged, include_status=include_status)
    conflicts: dict[tuple[str, str], list[Path]] = {}
    for entry in others:
        clashing = sorted(entry.fields & changed)
        if clashing:
            conflicts.setdefault((entry.manager, entry.api_version), []).extend(clashing)
    if conflicts and not force:
        raise _conflict_error(conflicts, applied["metadata"]["name"], plural, group)
    for entry in others:  # forced fields change hands; removed fields are nobody's
        entry.fields = entry.fields - changed - removed if force else entry.fields - removed
    if mine is None:
        mine = ManagerEntry(manager, APPLY, api_version, now, subresource, applied_fields)
        entries.append(mine)
    else:
        if mine.fields != applied_fields:
            mine.time = now
        mine.fields = applied_fields
        mine.api_version = api_version
    _write_entries(merged, entries)
    return merged
