"""The real clock (monotonic seconds for waits; wall-clock stamps are the caller's concern)."""

from __future__ import annotations

import time


class SystemClock:
    """Clock backed by `time.time` (persisted in Node annotations, so wall-clock) and `time.sleep`."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
