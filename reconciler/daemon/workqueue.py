"""The daemon's single work queue. Every trigger submits here; the reconcile loop takes.

Semantics (one desired-state repository, so at most one item is ever waiting):
- Bursts coalesce: submitting while an item waits replaces it with the newer request, so a
  burst of ten pushes becomes one reconcile of the newest revision.
- A failed revision is re-offered after a back-off delay (`retry_later`). Background
  triggers (drift, resync, poll) of that same revision fold into the waiting retry instead
  of defeating the back-off; a different revision, or an explicit commit/webhook/manual
  request, replaces it at once.
- `has_newer_than(revision)` lets a running pass see that a newer revision is waiting and
  stop waiting for the older one's health.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from reconciler.daemon.protocols import WorkItem
from schemas.results import Trigger

# Triggers that only ask "make sure the cluster matches"; they never cut a back-off short.
_BACKGROUND_TRIGGERS = frozenset({Trigger.DRIFT, Trigger.RESYNC, Trigger.POLL})


class QueueClosed(Exception):
    """Raised by `take` once the queue is closed and nothing is left to do."""


class WorkQueue:
    """A coalescing, thread-safe queue of at most one waiting reconcile request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: WorkItem | None = None
        self._retry: WorkItem | None = None
        self._retry_at = 0.0
        self._closed = False
        self.submitted = 0
        self.coalesced = 0

    def submit(self, revision: str, trigger: Trigger) -> None:
        """Ask for a reconcile of `revision`; replaces whatever was waiting."""
        with self._cond:
            if self._closed:
                return
            self.submitted += 1
            retry = self._retry
            if retry is not None and retry.revision == revision and trigger in _BACKGROUND_TRIGGERS:
                self.coalesced += 1
                return
            if self._pending is not None:
                self.coalesced += 1
            self._retry = None
            attempt = retry.attempt if retry is not None and retry.revision == revision else 0
            self._pending = WorkItem(revision, trigger, attempt)
            self._cond.notify_all()

    def retry_later(self, item: WorkItem, delay_s: float) -> None:
        """Offer `item` again after `delay_s`, unless something newer is submitted first."""
        with self._cond:
            if self._closed or self._pending is not None:
                return
            self._retry = replace(item, attempt=item.attempt + 1)
            self._retry_at = self._clock() + delay_s
            self._cond.notify_all()

    def take(self, timeout_s: float | None = None) -> WorkItem | None:
        """The next item to reconcile; None after `timeout_s`; QueueClosed once closed."""
        deadline = None if timeout_s is None else self._clock() + timeout_s
        with self._cond:
            while True:
                if self._closed:
                    raise QueueClosed
                if self._pending is not None:
                    item, self._pending = self._pending, None
                    return item
                now = self._clock()
                if self._retry is not None and now >= self._retry_at:
                    item, self._retry = self._retry, None
                    return item
                wait = None if deadline is None else deadline - now
                if self._retry is not None:
                    until_retry = self._retry_at - now
                    wait = until_retry if wait is None else min(wait, until_retry)
                if wait is not None and wait <= 0:
                    return None
                self._cond.wait(wait)

    def has_newer_than(self, revision: str) -> bool:
        """True when a request for a different revision is waiting."""
        with self._cond:
            return self._pending is not None and self._pending.revision != revision

    def waiting(self) -> WorkItem | None:
        """The request waiting now (pending or retry), for status pages."""
        with self._cond:
            return self._pending or self._retry

    def close(self) -> None:
        """Stop handing out work; a blocked `take` raises QueueClosed."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
