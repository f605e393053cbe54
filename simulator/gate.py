"""The CI gate: `--fail-if` rules over a `Comparison` (grammar in docs/simulate-gate.md).

    rule      = target op threshold
    target    = metric | "team." TEAM "." metric | "pool." POOL ".gpu_allocation"
    op        = ">" | ">=" | "<" | "<="
    threshold = [+|-] number [unit]
    unit      = "%" (relative change, percent of base) | "pp" (percentage points, for
                percent figures) | "s" | "m" | "h" | "d" (seconds…days, for time figures)
                | nothing (absolute change in the figure's own unit)

A rule looks at the change head − base (its mean over seeds) and is breached only when the
change satisfies the comparison *and* is significant (its 95 % interval excludes zero).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from simulator.compare.comparison import Comparison
from simulator.compare.metrics import METRICS, POOL_METRIC, TEAM_METRICS, MetricInfo
from simulator.compare.stats import Difference
from simulator.errors import SimulatorError

_RULE = re.compile(
    r"^\s*(?P<target>[A-Za-z0-9_.\-]+)\s*(?P<op>>=|<=|>|<)\s*"
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(?P<unit>%|pp|s|m|h|d)?\s*$"
)
_TIME_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_OPS = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}


class GateError(ValueError, SimulatorError):
    """A rule that cannot be parsed or names a figure the comparison does not have (exit 2)."""


@dataclass(frozen=True)
class Rule:
    text: str
    scope: str  # "cluster", "team" or "pool"
    group: str  # the team or pool name ("" for cluster)
    metric: MetricInfo
    op: str
    threshold: float
    unit: str  # "%" (relative) or "" (absolute change; pp and time units already converted)


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    breached: bool
    change: str  # the observed change in the rule's unit, in words


def _metric(table: dict[str, MetricInfo], name: str, text: str) -> MetricInfo:
    if name not in table:
        raise GateError(f"--fail-if {text!r}: unknown figure {name!r}; known: {', '.join(table)}")
    return table[name]


def parse_rule(text: str) -> Rule:
    """One `--fail-if` expression, e.g. `queue_wait_p95 > +20%` or `gpu_allocation < -5pp`."""
    match = _RULE.match(text)
    if match is None:
        raise GateError(
            f"--fail-if {text!r}: expected METRIC OP THRESHOLD, like 'queue_wait_p95 > +20%', "
            "'gpu_allocation < -5pp' or 'unschedulable > 0'"
        )
    target, op, unit = match["target"], match["op"], match["unit"] or ""
    parts = target.split(".")
    if parts[0] == "team" and len(parts) == 3:
        scope, group, metric = "team", parts[1], _metric(TEAM_METRICS, parts[2], text)
    elif parts[0] == "pool" and len(parts) == 3:
        scope, group, metric = "pool", parts[1], _metric({POOL_METRIC.name: POOL_METRIC}, parts[2], text)
    elif len(parts) == 1:
        scope, group, metric = "cluster", "", _metric(METRICS, parts[0], text)
    else:
        raise GateError(
            f"--fail-if {text!r}: target must be METRIC, team.TEAM.METRIC or pool.POOL.gpu_allocation"
        )
    threshold = float(match["number"])
    if unit == "pp":
        if metric.unit != "%":
            raise GateError(
                f"--fail-if {text!r}: 'pp' applies to percent figures; {metric.name} is in {metric.unit}"
            )
        unit = ""  # the change of a percent figure is already in percentage points
    elif unit in _TIME_UNITS:
        if metric.unit != "s":
            raise GateError(
                f"--fail-if {text!r}: a time unit applies to time figures; {metric.name} is in {metric.unit}"
            )
        threshold, unit = threshold * _TIME_UNITS[unit], ""
    return Rule(text.strip(), scope, group, metric, op, threshold, unit)


def _difference(rule: Rule, comparison: Comparison) -> Difference:
    if rule.scope == "cluster":
        return comparison.metrics[rule.metric.name]
    table = (
        comparison.teams
        if rule.scope == "team"
        else {p: {"gpu_allocation": d} for p, d in comparison.pools.items()}
    )
    if rule.group not in table:
        known = ", ".join(sorted(table)) or "none"
        raise GateError(
            f"--fail-if {rule.text!r}: no {rule.scope} {rule.group!r} in this comparison (known: {known})"
        )
    return table[rule.group][rule.metric.name]


def evaluate(rule: Rule, comparison: Comparison) -> Verdict:
    """Whether `rule` is breached: the change compares true and is significant."""
    diff = _difference(rule, comparison)
    if diff.diff is None:
        return Verdict(rule, False, "no value on one side")
    if rule.unit == "%":
        relative = diff.relative
        if relative is None:  # base is zero: any change is infinitely large
            relative = math.copysign(math.inf, diff.diff) if diff.diff else 0.0
        observed = 100.0 * relative
        words = f"{observed:+.1f}%"
    else:
        observed = diff.diff
        words = f"{observed:+.4g}{'pp' if rule.metric.unit == '%' else ' ' + rule.metric.unit}"
    hit = _OPS[rule.op](float(observed), rule.threshold)
    significant = diff.significant
    words += " (significant)" if significant else " (not significant)"
    return Verdict(rule, hit and significant, words)


def check(rules: list[Rule], comparison: Comparison) -> list[Verdict]:
    return [evaluate(rule, comparison) for rule in rules]
