"""Numbers in words for the reports: values in their unit, changes with a sign, intervals, and
the arrow that says whether a significant change is better or worse."""

from __future__ import annotations

from simulator.compare.metrics import MetricInfo
from simulator.compare.stats import Difference


def duration(seconds: float) -> str:
    """`42 s`, `3.5 min`, `2.1 h`, `1.3 d` (sign kept)."""
    sign = "-" if seconds < 0 else ""
    value = abs(seconds)
    if value < 60:
        return f"{sign}{value:.0f} s"
    if value < 3600:
        return f"{sign}{value / 60:.1f} min"
    if value < 86400:
        return f"{sign}{value / 3600:.1f} h"
    return f"{sign}{value / 86400:.1f} d"


def value(metric: MetricInfo, number: float | None) -> str:
    if number is None:
        return "–"
    if metric.unit == "%":
        return f"{number:.1f} %"
    if metric.unit == "s":
        return duration(number)
    return f"{number:.1f}" if number != round(number) else f"{number:.0f}"


def change(metric: MetricInfo, diff: Difference) -> str:
    """`+3.2 pp`, `+1.5 h (+12 %)`, `-4 jobs`."""
    if diff.diff is None:
        return "–"
    d = diff.diff
    if metric.unit == "%":
        text = f"{d:+.1f} pp"
    elif metric.unit == "s":
        text = ("+" if d >= 0 else "") + duration(d)
    else:
        text = f"{d:+.1f}" if d != round(d) else f"{d:+.0f}"
    if metric.unit != "%" and diff.relative is not None and d:
        text += f" ({100 * diff.relative:+.0f} %)"
    return text


def interval(metric: MetricInfo, diff: Difference) -> str:
    if diff.ci_low is None or diff.ci_high is None:
        return "n/a"
    if metric.unit == "s":
        return f"[{duration(diff.ci_low)}, {duration(diff.ci_high)}]"
    suffix = " pp" if metric.unit == "%" else ""
    return f"[{diff.ci_low:+.1f}, {diff.ci_high:+.1f}]{suffix}"


def verdict(metric: MetricInfo, diff: Difference) -> str:
    """`↑ better`, `↓ worse`, … for significant changes; `≈` otherwise."""
    if not diff.significant or diff.diff is None:
        return "≈"
    up = diff.diff > 0
    good = up == (metric.better == "higher")
    return f"{'↑' if up else '↓'} {'better' if good else 'worse'}"


def is_worse(metric: MetricInfo, diff: Difference) -> bool:
    return verdict(metric, diff).endswith("worse")
