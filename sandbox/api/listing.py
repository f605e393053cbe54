"""LIST: selectors, `limit` pages and `continue` tokens (which expire with the watch
history, answering 410 Expired as upstream)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sandbox.api import errors
from sandbox.api.requests import Request
from sandbox.api.selectors import field_matcher, label_matcher
from sandbox.api.store import Store


def list_page(store: Store, req: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The list envelope (without items) and the matching items of this page."""
    labels = label_matcher(req.params.get("labelSelector"))
    fields = field_matcher(req.params.get("fieldSelector"), req.rtype.kind)
    items, rv = store.list_objects(req.rtype.group_resource, req.namespace or None)
    token = req.params.get("continue")
    if token:
        rv, start_after = _decode_continue(store, token)
        items = [o for o in items if _sort_key(o) > start_after]
    if labels or fields:
        items = [o for o in items if (labels is None or labels(o)) and (fields is None or fields(o))]
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    try:
        limit = int(req.params.get("limit") or 0)
    except ValueError:
        raise errors.bad_request(f"limit must be an integer, got {req.params.get('limit')!r}") from None
    if limit > 0 and len(items) > limit:
        page = items[:limit]
        meta["continue"] = _encode_continue(rv, _sort_key(page[-1]))
        if not (labels or fields):  # as upstream: unknown when a selector filters
            meta["remainingItemCount"] = len(items) - limit
        items = page
    envelope = {"kind": req.rtype.list_kind_name(), "apiVersion": req.rtype.api_version, "metadata": meta}
    return envelope, items


def _sort_key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def _encode_continue(rv: int, start: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": start}).encode()).decode()


def _decode_continue(store: Store, token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        rv, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc
    if rv < store.oldest_watchable_rv:
        raise errors.expired(
            "The provided continue parameter is too old to display a consistent list result. You can "
            "start a new list without the continue parameter."
        )
    return rv, start
