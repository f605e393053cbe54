"""The --fail-if grammar and its evaluation, and the paired confidence intervals it relies on."""

from __future__ import annotations

import math

import pytest

from simulator.compare.comparison import Comparison
from simulator.compare.stats import Difference, mean_interval, paired
from simulator.gate import GateError, evaluate, parse_rule


def _comparison(**metrics: Difference) -> Comparison:
    llm = {"queue_wait_p95": paired([10.0, 12.0, 11.0], [30.0, 33.0, 31.0])}
    return Comparison({}, {}, dict(metrics), {"llm": llm}, {}, [], [], {}, [])


def test_identical_sides_are_not_significant() -> None:
    """Zero difference on every seed gives a zero-width interval at zero: not significant."""
    diff = paired([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (diff.diff, diff.ci_low, diff.ci_high, diff.significant) == (0.0, 0.0, 0.0, False)


def test_constant_shift_is_significant_and_interval_matches_student_t() -> None:
    """A paired shift is significant; the half-width is t(0.975, n-1)·sd/√n of the differences."""
    diff = paired([10.0, 20.0, 30.0, 40.0], [11.0, 22.0, 31.0, 42.0])
    assert diff.diff == pytest.approx(1.5)
    half = 3.182446305284263 * 0.5773502691896257 / 2  # t(0.975, 3) · sd([1,2,1,2]) / √4
    assert diff.ci_low == pytest.approx(1.5 - half)
    assert diff.ci_high == pytest.approx(1.5 + half)
    assert diff.significant
    assert diff.relative == pytest.approx(1.5 / 25.0)


def test_noisy_difference_is_not_significant_and_single_seed_has_no_interval() -> None:
    """An interval straddling zero is not significant; one seed gives no interval at all."""
    assert not paired([1.0, 2.0, 3.0], [2.0, 1.0, 3.5]).significant
    single = paired([1.0], [5.0])
    assert single.ci_low is None and not single.significant
    assert mean_interval([2.0, 4.0]).mean == 3.0


@pytest.mark.parametrize(
    ("text", "scope", "op", "threshold", "unit"),
    [
        ("queue_wait_p95 > +20%", "cluster", ">", 20.0, "%"),
        ("gpu_allocation < -5pp", "cluster", "<", -5.0, ""),
        ("unschedulable > 0", "cluster", ">", 0.0, ""),
        ("jct_p50>=2h", "cluster", ">=", 7200.0, ""),
        ("team.llm.queue_wait_p95 > 30m", "team", ">", 1800.0, ""),
        ("pool.h100-inference.gpu_allocation <= -1.5pp", "pool", "<=", -1.5, ""),
    ],
)
def test_rules_parse(text: str, scope: str, op: str, threshold: float, unit: str) -> None:
    """Each documented form parses to its scope, operator, threshold (seconds for time) and unit."""
    rule = parse_rule(text)
    assert (rule.scope, rule.op, rule.threshold, rule.unit) == (scope, op, threshold, unit)


@pytest.mark.parametrize(
    "text",
    ["queue_wait_p95 20%", "gpu_allocation < -5 jobs", "unschedulable > 2h", "team.llm > 1", "x.y.z.w > 1"],
)
def test_malformed_rules_are_errors(text: str) -> None:
    """Rules outside the grammar raise GateError with the rule quoted."""
    with pytest.raises(GateError, match="--fail-if"):
        parse_rule(text)


def test_only_significant_changes_breach() -> None:
    """A +50 % change breaches `> +20%` only when its interval excludes zero."""
    noisy = paired([10.0, 20.0, 10.0], [25.0, 10.0, 25.0])
    clear = paired([10.0, 11.0, 12.0], [15.0, 16.5, 18.0])
    rule = parse_rule("queue_wait_p95 > +20%")
    assert not evaluate(rule, _comparison(queue_wait_p95=noisy)).breached
    verdict = evaluate(rule, _comparison(queue_wait_p95=clear))
    assert verdict.breached and "significant" in verdict.change


def test_relative_rule_on_zero_base_counts_as_infinite_change() -> None:
    """From zero, any significant increase exceeds any relative threshold."""
    diff = paired([0.0, 0.0, 0.0], [3.0, 4.0, 5.0])
    assert math.isinf(100 * (diff.relative or math.inf))
    assert evaluate(parse_rule("unschedulable > +1000%"), _comparison(unschedulable=diff)).breached


def test_team_rules_and_unknown_team() -> None:
    """A team rule reads that team's figures; an unknown team is an error naming the known ones."""
    assert evaluate(parse_rule("team.llm.queue_wait_p95 > 15s"), _comparison()).breached
    with pytest.raises(GateError, match=r"no team 'ml'.*known: llm"):
        evaluate(parse_rule("team.ml.queue_wait_p95 > 15s"), _comparison())
