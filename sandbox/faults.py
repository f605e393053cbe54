"""Fault injection, switchable at run time: a share of API requests fail with 500 or 429 or
hang until the client times out, watches lag, the whole API is unreachable (every connection
reset, open watches cut) for as long as `unreachable` is set, and the MIG manager fails on
chosen nodes.

Decisions come from one seeded random generator, so a test with a given seed sees the same
sequence of failures every run.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum


class Fault(Enum):
    ERROR = "error"  # 500 InternalError
    THROTTLE = "throttle"  # 429 TooManyRequests with Retry-After
    TIMEOUT = "timeout"  # no answer until `timeout_seconds`, then the connection is closed


@dataclass
class Faults:
    """Fault settings; change any attribute at run time (reads and writes are atomic)."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 10.0
    retry_after_seconds: int = 1
    watch_delay_seconds: float = 0.0
    # While True, every connection (new, kept-alive or watching) is reset without an answer,
    # as a client sees an API server that is down or cut off by the network.
    unreachable: bool = False
    # Verbs the request faults apply to (get, list, watch, create, update, patch, delete, ...);
    # empty = every verb. Discovery requests are never faulted.
    verbs: set[str] = field(default_factory=set)
    mig_fail_nodes: set[str] = field(default_factory=set)
    seed: int = 0
    # How many requests got each fault so far (tests report and assert on it).
    injected: Counter[Fault] = field(default_factory=Counter, init=False)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._rng = random.Random(seed)

    def clear(self) -> None:
        """Switch every fault off."""
        self.error_rate = self.throttle_rate = self.timeout_rate = 0.0
        self.watch_delay_seconds = 0.0
        self.unreachable = False
        self.verbs = set()
        self.mig_fail_nodes = set()

    def watch_delay(self) -> float:
        """The current watch delay (read by running watch streams on every batch)."""
        return self.watch_delay_seconds

    def pick(self, verb: str) -> Fault | None:
        """The fault to inject into one request of `verb`, if any."""
        if self.verbs and verb not in self.verbs:
            return None
        total = self.error_rate + self.throttle_rate + self.timeout_rate
        if total <= 0:
            return None
        with self._lock:
            draw = self._rng.random()
            fault = None
            if draw < self.error_rate:
                fault = Fault.ERROR
            elif draw < self.error_rate + self.throttle_rate:
                fault = Fault.THROTTLE
            elif draw < total:
                fault = Fault.TIMEOUT
            if fault is not None:
                self.injected[fault] += 1
        return fault
