"""Request counters and server-side timings, read by tests and benchmarks (e.g. "a no-op
reconcile makes zero write requests")."""

from __future__ import annotations

import statistics
import threading
from collections import Counter, deque

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


class RequestStats:
    """Per-verb request counts (dry runs counted apart) and recent handling times."""

    def __init__(self, keep: int = 100_000) -> None:
        self._lock = threading.Lock()
        self.by_verb: Counter[str] = Counter()
        self.dry_run_by_verb: Counter[str] = Counter()
        self._durations: deque[float] = deque(maxlen=keep)
        self._open_watches: Counter[tuple[str, str]] = Counter()

    def record(self, verb: str, dry_run: bool, seconds: float | None) -> None:
        with self._lock:
            (self.dry_run_by_verb if dry_run else self.by_verb)[verb] += 1
            if seconds is not None:
                self._durations.append(seconds)

    def watch_opened(self, resource: tuple[str, str]) -> None:
        with self._lock:
            self._open_watches[resource] += 1

    def watch_closed(self, resource: tuple[str, str]) -> None:
        with self._lock:
            self._open_watches[resource] -= 1

    @property
    def open_watches(self) -> int:
        """Watch streams the server is serving now (one handler thread each)."""
        with self._lock:
            return sum(self._open_watches.values())

    def watching(self, resource: tuple[str, str]) -> int:
        """Watch streams open now on one resource, as (group, plural): ("", "nodes")."""
        with self._lock:
            return self._open_watches[resource]

    @property
    def write_count(self) -> int:
        """Requests that changed (or tried to change) the cluster; dry runs excluded."""
        with self._lock:
            return sum(n for verb, n in self.by_verb.items() if verb in WRITE_VERBS)

    def median_seconds(self) -> float:
        with self._lock:
            return statistics.median(self._durations) if self._durations else 0.0

    def durations(self) -> list[float]:
        with self._lock:
            return list(self._durations)

    def reset(self) -> None:
        with self._lock:
            self.by_verb.clear()
            self.dry_run_by_verb.clear()
            self._durations.clear()
