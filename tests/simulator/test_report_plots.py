"""The report's plots read at a glance: time axes end at the horizon with the drain tail in
words, legends name the revisions, the queue-wait CDF is on a log axis with labelled ticks
and counts each team's unschedulable jobs in its title."""

from __future__ import annotations

from simulator.compare.comparison import Comparison
from simulator.compare.series import QUANTILES, SideSeries
from simulator.compare.stats import Difference
from simulator.report.plots import over_time_figure, wait_cdf_figure

HOUR = 3600.0


def _comparison() -> Comparison:
    times = [i * 10 * HOUR for i in range(71)]  # 0 … 700 h; the horizon is 168 h
    allocation = [60.0 if t <= 168 * HOUR else (5.0 if t <= 400 * HOUR else 0.0) for t in times]
    waits = {"llm": [q * 5 * HOUR for q in QUANTILES]}
    side = SideSeries(times, allocation, [10.0] * len(times), waits)
    unschedulable = Difference(base=0.0, head=12.0, diff=12.0, ci_low=None, ci_high=None, seeds=2)
    return Comparison(
        inputs={"base": "main@1234abcd", "head": "proposal@5678ef01", "horizon_s": 168 * HOUR},
        clusters={}, metrics={}, teams={"llm": {"unschedulable": unschedulable}}, pools={},
        warnings=[], rollout=[], standing={}, errors=[], series={"base": side, "head": side},
    )  # fmt: skip


def test_time_axis_ends_at_the_horizon_and_names_revisions() -> None:
    """Allocation is drawn to 168 h only; the tail to 400 h is told in words; legends name revisions."""
    fig = over_time_figure(_comparison(), "allocation_pct", "GPU allocated (%)", "GPU allocation")
    [ax] = fig.axes
    assert ax.get_xlim()[1] == 168.0
    assert max(max(line.get_xdata()) for line in ax.get_lines()) <= 168.0
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["main@1234abcd (base)", "proposal@5678ef01 (head)"]
    words = " ".join(text.get_text() for text in fig.texts)
    assert "after the 168 h horizon" in words and "drains until 400 h" in words


def test_queue_wait_cdf_is_on_a_labelled_log_axis_counting_unschedulable() -> None:
    """The CDF's wait axis is logarithmic with minute/hour ticks; the title counts unschedulable jobs."""
    [ax, *_] = wait_cdf_figure(_comparison()).axes
    assert ax.get_xscale() == "log"
    ticks = [label.get_text() for label in ax.get_xticklabels()]
    assert ticks[0] == "≤1 min" and "1 h" in ticks and not any(t.startswith("-") for t in ticks)
    assert "unschedulable (not in the CDF): base 0, head 12" in ax.get_title()
