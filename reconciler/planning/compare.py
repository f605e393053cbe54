"""Cheap local checks that decide when no request to the API server is needed.

`is_subset(desired, live)`: every value written in `desired` is present with the same value
in `live` (maps may hold more keys; lists must match item by item). Together with the
digest annotation, which changes whenever the desired object changes (including a removed
field), a subset match proves that a server-side apply would change nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

DIGEST_ANNOTATION = "gpuctl.dev/applied-digest"


def digest(obj: dict[str, Any]) -> str:
    """A stable digest of a desired object (without the digest annotation itself)."""
    meta = obj.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != DIGEST_ANNOTATION}
    body = {**obj, "metadata": {**meta, "annotations": annotations}}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def with_digest(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of `obj` carrying its digest annotation (what gpuctl sends)."""
    meta = dict(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations[DIGEST_ANNOTATION] = digest(obj)
    meta["annotations"] = annotations
    return {**obj, "metadata": meta}


def is_subset(desired: Any, live: Any) -> bool:
    """Whether `live` holds every value of `desired` (see the module docstring)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(key in live and is_subset(value, live[key]) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        return all(is_subset(d, x) for d, x in zip(desired, live, strict=True))
    if desired is None:
        return live is None
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return desired == live
    return bool(desired == live)
