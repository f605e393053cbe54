"""Retry on a 409 Conflict with a fresh read, as client-go's `retry.RetryOnConflict` does.

A write guarded by a resourceVersion fails with 409 when anything changed the object since it
was read; on a real cluster a Node's status heartbeat (about every 10 s) does exactly that. The
caller's `attempt` reads the object anew and recomputes its write on every call; a few short,
jittered waits (client-go's `DefaultRetry`: 5 steps of 10 ms, jitter 0.1) are enough, because the
conflicting writer is not in a loop with us.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.errors import ConflictError

T = TypeVar("T")


@dataclass(frozen=True)
class ConflictBackoff:
    """`steps` tries at most; the waits are `duration` × `factor`^n, plus up to `jitter` of it."""

    steps: int = 5
    duration: float = 0.01
    factor: float = 1.0
    jitter: float = 0.1

    def wait(self, attempt: int, rng: random.Random) -> float:
        base = self.duration * (self.factor**attempt)
        return base + base * self.jitter * rng.random()


DEFAULT_BACKOFF = ConflictBackoff()


def retry_on_conflict(
    attempt: Callable[[], T],
    *,
    backoff: ConflictBackoff = DEFAULT_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """`attempt()` until it does not raise ConflictError, at most `backoff.steps` times; the last
    ConflictError propagates."""
    rng = rng or random.Random()
    for step in range(backoff.steps):
        try:
            return attempt()
        except ConflictError:
            if step + 1 >= backoff.steps:
                raise
            sleep(backoff.wait(step, rng))
    raise AssertionError("unreachable: the loop returns or raises")
