"""The sandbox's own clock: wall time that runs `speed` times faster than real time.

Everything time-driven in the sandbox (pod runtimes, MIG reconfiguration delays, object
timestamps) reads this clock, so `--speed 60` makes a minute of cluster time pass in a
second without changing any timing logic.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SandboxClock:
    """Sandbox time in seconds since the epoch; `speed` sandbox seconds per real second."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._lock = threading.Lock()
        self._speed = speed
        self._origin_real = time.monotonic()
        self._origin_sandbox = time.time()

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (sandbox time stays continuous)."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        with self._lock:
            now = self.now()
            self._origin_real = time.monotonic()
            self._origin_sandbox = now
            self._speed = speed

    def now(self) -> float:
        return self._origin_sandbox + (time.monotonic() - self._origin_real) * self._speed

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long `sandbox_seconds` of sandbox time take in real time."""
        return max(0.0, sandbox_seconds / self._speed)

    def timestamp(self, at: float | None = None) -> str:
        """RFC 3339 with second precision and a `Z`, as Kubernetes writes timestamps."""
        moment = self.now() if at is None else at
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def micro_timestamp(self) -> str:
        """MicroTime, as used by Lease renewTime and event series."""
        return datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of a Kubernetes timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
