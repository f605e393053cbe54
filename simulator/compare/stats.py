"""Paired comparison of one figure over seeds: base and head ran with the same seeds (common
random numbers), so the per-seed differences are paired and their Student-t interval is much
narrower than one built from two independent samples.

A change is *significant* when the 95 % interval of the mean difference excludes zero. With
identical differences on every seed the interval has zero width (significant unless zero);
with a single seed no interval exists and nothing is significant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Difference:
    """base, head and head − base (means over the seeds where both sides have the figure)."""

    base: float | None
    head: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    seeds: int

    @property
    def significant(self) -> bool:
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def relative(self) -> float | None:
        """(head − base) ÷ |base|, or None when base is 0 or missing."""
        if self.diff is None or not self.base:
            return None
        return self.diff / abs(self.base)

    def to_dict(self) -> dict[str, object]:
        return {
            "base": self.base,
            "head": self.head,
            "diff": self.diff,
            "ci95": [self.ci_low, self.ci_high] if self.ci_low is not None else None,
            "relative": self.relative,
            "significant": self.significant,
            "seeds": self.seeds,
        }


def paired(base: list[float | None], head: list[float | None]) -> Difference:
    """The paired difference of per-seed values (entries None on either side are dropped)."""
    pairs = [(b, h) for b, h in zip(base, head, strict=True) if b is not None and h is not None]
    if not pairs:
        mean_b = _mean(base)
        mean_h = _mean(head)
        return Difference(mean_b, mean_h, None, None, None, 0)
    values = np.array(pairs, dtype=np.float64)
    diffs = values[:, 1] - values[:, 0]
    n = diffs.shape[0]
    mean = float(diffs.mean())
    low: float | None = None
    high: float | None = None
    if n >= 2:
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * float(diffs.std(ddof=1)) / math.sqrt(n)
        low, high = mean - half, mean + half
    return Difference(float(values[:, 0].mean()), float(values[:, 1].mean()), mean, low, high, n)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


@dataclass(frozen=True)
class Estimate:
    """The mean of a figure over seeds and the half-width of its 95 % interval (None for n < 2)."""

    mean: float | None
    half_width: float | None
    seeds: int


def mean_interval(values: list[float | None]) -> Estimate:
    present = np.array([v for v in values if v is not None], dtype=np.float64)
    n = present.shape[0]
    if n == 0:
        return Estimate(None, None, 0)
    if n == 1:
        return Estimate(float(present[0]), None, 1)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * float(present.std(ddof=1)) / math.sqrt(n)
    return Estimate(float(present.mean()), half, n)
