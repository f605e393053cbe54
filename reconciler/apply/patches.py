"""The change of one object as a JSON patch (RFC 6902, via the `jsonpatch` library), with
Secret values redacted so that the audit log never holds secret data."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

REDACTED = "***redacted***"


def redact(obj: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of `obj` with Secret `data`/`stringData` values replaced (keys kept)."""
    if not obj:
        return {}
    if obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = dict.fromkeys(out[key], REDACTED)
    return out


def change_patch(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The JSON patch from `before` to `after` (both already normalised), Secret data redacted.
    A redacted Secret value that changed shows as a `replace` of the redacted marker."""
    patch = jsonpatch.make_patch(redact(before), redact(after)).patch
    if (after or before or {}).get("kind") == "Secret" and before and after:
        for key in ("data", "stringData"):
            old, new = before.get(key) or {}, after.get(key) or {}
            for name in sorted(set(old) & set(new)):
                if old[name] != new[name]:
                    patch.append({"op": "replace", "path": f"/{key}/{_escape(name)}", "value": REDACTED})
    return [dict(op) for op in patch]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
