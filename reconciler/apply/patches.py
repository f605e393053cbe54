"""The change of one object as a JSON patch (RFC 6902, via the `jsonpatch` library), and the
objects as `gpuctl diff` shows them, with credentials redacted by `reconciler.audit.redaction`:
Secret data and every value under a credential-looking key (`password`, `apiToken`, a
`*_SECRET` env var, ...), so that neither the audit log nor a diff ever holds them."""

from __future__ import annotations

from typing import Any

import jsonpatch

from reconciler.audit.redaction import REDACTED, redact_document, redact_patch
from schemas.refs import ObjectRef

__all__ = ["REDACTED", "change_patch", "redact"]


def redact(obj: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of `obj` with Secret data and credential-looking values replaced (keys kept)."""
    if not obj:
        return {}
    redacted: dict[str, Any] = redact_document(obj)
    return redacted


def change_patch(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The JSON patch from `before` to `after` (both already normalised), redacted: a changed
    credential shows as a `replace` of its path with the redaction marker, never its value."""
    patch = jsonpatch.make_patch(before or {}, after or {}).patch
    target = after or before
    ref = ObjectRef.of(target) if target else None
    return [dict(op) for op in redact_patch(patch, ref)]
