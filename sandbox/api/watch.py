"""Watch streams: the events after a resourceVersion, filtered like the API server does.

A watch without a resourceVersion (or with "0") starts with ADDED events for the current
objects; one from a version older than the retained history gets an ERROR event carrying a
410 `Expired` Status. With label or field selectors an object that stops matching is sent
as DELETED and one that starts matching as ADDED. BOOKMARK events are sent when asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.api import errors
from sandbox.api.handlers import Request
from sandbox.api.selectors import Matcher, field_matcher, label_matcher
from sandbox.api.store import Store, encode

BOOKMARK_INTERVAL_S = 1.0
DEFAULT_TIMEOUT_S = 1800.0


@dataclass
class WatchFilter:
    namespace: str
    name: str
    labels: Matcher | None
    fields: Matcher | None

    def matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        if self.namespace and meta.get("namespace", "") != self.namespace:
            return False
        if self.name and meta["name"] != self.name:
            return False
        return (self.labels is None or self.labels(obj)) and (self.fields is None or self.fields(obj))


def _line(event_type: str, encoded: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + encoded + b"}\n"


def raw_event(event_type: str, obj: dict[str, Any], encoded: bytes) -> bytes:
    """The default rendering of an object event: the object as stored."""
    return _line(event_type, encoded)


Render = Callable[[str, dict[str, Any], bytes], bytes]


def _never() -> bool:
    return False


def _no_delay() -> float:
    return 0.0


def stream(
    store: Store,
    req: Request,
    *,
    delay_s: Callable[[], float] = _no_delay,
    client_gone: Callable[[], bool] = _never,
    render: Render = raw_event,
) -> Iterator[bytes]:
    """Watch event lines until the timeout, the store closing, or the consumer leaving.
    Bad parameters raise ApiError here, before anything is streamed. `delay_s()` holds every
    batch of events back (fault injection: a slow watch, read on each batch so it can change
    mid-stream); `client_gone()` is asked while idle, to end streams of clients that left."""
    flt = WatchFilter(
        namespace=req.namespace,
        name=req.name,
        labels=label_matcher(req.params.get("labelSelector")),
        fields=field_matcher(req.params.get("fieldSelector"), req.rtype.kind),
    )
    requested = req.params.get("resourceVersion", "")
    if requested not in ("", "0") and not requested.isdigit():
        raise errors.bad_request(f"invalid resource version {requested!r}")
    try:
        timeout = float(req.params.get("timeoutSeconds") or DEFAULT_TIMEOUT_S)
    except ValueError:
        raise errors.bad_request("timeoutSeconds must be a number") from None
    return _events(
        store,
        req,
        flt,
        requested=requested,
        timeout=timeout,
        delay_s=delay_s,
        client_gone=client_gone,
        render=render,
    )


def _events(
    store: Store,
    req: Request,
    flt: WatchFilter,
    *,
    requested: str,
    timeout: float,
    delay_s: Callable[[], float],
    client_gone: Callable[[], bool],
    render: Render,
) -> Iterator[bytes]:
    resource = req.rtype.group_resource
    bookmarks = req.params.get("allowWatchBookmarks") in ("true", "1")
    deadline = time.monotonic() + timeout
    if requested in ("", "0"):
        items, cursor = store.list_objects(resource, req.namespace or None)
        for obj in items:
            if flt.matches(obj):
                yield render("ADDED", obj, store.encoded(resource, obj))
    else:
        cursor = int(requested)
        oldest = store.oldest_watchable_rv
        if cursor < oldest:
            gone = errors.expired(f"too old resource version: {cursor} ({oldest + 1})")
            yield _line("ERROR", encode(gone.status()))
            return
    last_bookmark = time.monotonic()
    while not store.closed:
        now = time.monotonic()
        if now >= deadline:
            return
        wait = min(deadline - now, BOOKMARK_INTERVAL_S)
        if not store.wait_for_change(cursor, wait):
            if client_gone():
                return
            if bookmarks and time.monotonic() - last_bookmark >= BOOKMARK_INTERVAL_S:
                last_bookmark = time.monotonic()
                yield _line(
                    "BOOKMARK",
                    encode(
                        {
                            "kind": req.rtype.kind,
                            "apiVersion": req.rtype.api_version,
                            "metadata": {"resourceVersion": str(store.resource_version)},
                        }
                    ),
                )
            continue
        events = store.events_after(cursor)
        delay = delay_s()
        if events and delay > 0:
            time.sleep(delay)
        for event in events:
            cursor = event.rv
            if event.resource != resource:
                continue
            was, now_matches = flt.matches(event.old), flt.matches(event.obj)
            if event.type == "DELETED":
                if was or now_matches:
                    yield render("DELETED", event.obj, event.encoded)
            elif was and now_matches:
                yield render(event.type if event.type != "ADDED" else "MODIFIED", event.obj, event.encoded)
            elif now_matches:
                yield render("ADDED", event.obj, event.encoded)
            elif was:
                yield render("DELETED", event.obj, event.encoded)
        if not events:
            cursor = store.resource_version
