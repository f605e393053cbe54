"""The `scale` subresource (Deployments, StatefulSets, custom resources that declare it):
reads and writes `spec.replicas` through an `autoscaling/v1 Scale`, as `kubectl scale` does."""

from __future__ import annotations

import copy
import json
from typing import Any

from sandbox.api import errors
from sandbox.api.handlers import Api, Request
from sandbox.api.patches import apply_patch


def _selector_text(obj: dict[str, Any]) -> str:
    match_labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": int((obj.get("spec") or {}).get("replicas", 1))},
        "status": {
            "replicas": int((obj.get("status") or {}).get("replicas", 0)),
            "selector": _selector_text(obj),
        },
    }


def get_scale(api: Api, req: Request) -> dict[str, Any]:
    return scale_of(api.get(req))


def write_scale(api: Api, req: Request, scale: dict[str, Any]) -> dict[str, Any]:
    """Set spec.replicas from a Scale (PUT), checking its resourceVersion like an update."""
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            req.name,
            [
                (
                    "spec.replicas",
                    "FieldValueInvalid",
                    f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                )
            ],
        )
    main = Request(req.rtype, req.namespace, req.name, "", req.params, req.user_agent)
    with api.store.lock:
        obj = copy.deepcopy(api.get(main))
        wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != obj["metadata"]["resourceVersion"]:
            raise errors.conflict(req.rtype.plural, req.rtype.group, req.name, errors.STALE_VERSION)
        obj.setdefault("spec", {})["replicas"] = replicas
        return scale_of(api.update(main, obj))


def patch_scale(api: Api, req: Request, content_type: str, raw: bytes) -> dict[str, Any]:
    """PATCH a Scale (merge, JSON or strategic patch of the Scale object)."""
    try:
        patch = json.loads(raw or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from exc
    current = get_scale(api, req)
    patched = apply_patch(content_type.split(";", 1)[0].strip(), current, patch, custom=False)
    patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    return write_scale(api, req, patched)
