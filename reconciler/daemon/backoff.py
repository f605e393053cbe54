"""Exponential back-off with a cap, for retrying a revision whose reconcile failed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number `attempt` (1-based): base·factor^(attempt-1), at most `cap`."""

    base_s: float = 1.0
    cap_s: float = 300.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s or self.factor < 1:
            raise ValueError(
                f"back-off needs 0 < base ≤ cap and factor ≥ 1 (got base={self.base_s}, "
                f"cap={self.cap_s}, factor={self.factor})"
            )

    def delay(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        # Compare exponents rather than computing huge powers for long failure streaks.
        delay = self.base_s
        for _ in range(attempt - 1):
            delay *= self.factor
            if delay >= self.cap_s:
                return self.cap_s
        return min(delay, self.cap_s)
