"""The report's PNG plots (matplotlib, Agg backend, no display needed): GPU allocation over
time, the queue-wait CDF of each team, and fragmentation over time, base against head.

Read at a glance: time axes end at the workload's horizon (the jobs still draining after it
are summarised in words under the plot, not drawn across three quarters of the width), the
legends name the revisions, and the queue-wait CDF has a log time axis labelled in minutes,
hours and days (waits under a minute are drawn at one minute) with each side's unschedulable
jobs, which never wait their way in, counted in the title of each team's panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulator.compare.comparison import Comparison
from simulator.compare.series import QUANTILES, SideSeries

COLOURS = {"base": "#1f77b4", "head": "#d62728"}
# Queue-wait axis: the floor (waits below it are drawn at it) and the labelled ticks, in hours.
WAIT_FLOOR_H = 1.0 / 60.0
WAIT_TICKS = ((1 / 60, "≤1 min"), (10 / 60, "10 min"), (1.0, "1 h"), (6.0, "6 h"), (24.0, "1 d"),
              (168.0, "1 w"), (720.0, "30 d"))  # fmt: skip


def _labels(comparison: Comparison) -> dict[str, str]:
    """Legend label per side: the revision it ran, then which side it is."""
    inputs = comparison.inputs or {}
    return {side: f"{inputs.get(side) or side} ({side})" for side in ("base", "head")}


def _horizon_h(comparison: Comparison, series: dict[str, SideSeries]) -> float:
    horizon = (comparison.inputs or {}).get("horizon_s")
    if isinstance(horizon, int | float) and horizon > 0:
        return float(horizon) / 3600.0
    return max((max(c.time_s or [0.0]) for c in series.values()), default=0.0) / 3600.0


def _tail_words(series: dict[str, SideSeries], field: str, horizon_h: float, labels: dict[str, str]) -> str:
    """What happens after the horizon, per side: until when the curve stays above zero and
    its mean over that drain tail."""
    parts = []
    for side, curve in series.items():
        points = [(t / 3600.0, v) for t, v in zip(curve.time_s, getattr(curve, field), strict=True)]
        tail = [(t, v) for t, v in points if t > horizon_h]
        busy = [t for t, v in tail if v > 0.05]
        if not busy:
            continue
        mean = sum(v for _, v in tail if _ <= busy[-1]) / max(1, sum(1 for t, _ in tail if t <= busy[-1]))
        parts.append(f"{labels.get(side, side)} drains until {busy[-1]:.0f} h (mean {mean:.1f} %)")
    if not parts:
        return f"nothing left running after the {horizon_h:.0f} h horizon"
    return f"after the {horizon_h:.0f} h horizon (not drawn):\n" + "\n".join(parts)


def over_time_figure(comparison: Comparison, field: str, ylabel: str, title: str) -> Figure:
    series, labels = comparison.series, _labels(comparison)
    horizon_h = _horizon_h(comparison, series)
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=100)
    for side, curve in series.items():
        hours = [t / 3600.0 for t in curve.time_s]
        kept = [(h, v) for h, v in zip(hours, getattr(curve, field), strict=True) if h <= horizon_h * 1.0001]
        ax.plot([h for h, _ in kept], [v for _, v in kept], label=labels.get(side, side),
                color=COLOURS.get(side), linewidth=1.2)  # fmt: skip
    ax.set_xlim(0, horizon_h or None)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("simulated time (h)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.text(0.01, 0.01, _tail_words(series, field, horizon_h, labels), fontsize=8, color="#444444")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def _unschedulable(comparison: Comparison, team: str) -> str:
    figure = (comparison.teams or {}).get(team, {}).get("unschedulable")
    if figure is None:
        return ""

    def fmt(value: Any) -> str:
        return "–" if value is None else f"{value:.0f}"

    return f"\nunschedulable (not in the CDF): base {fmt(figure.base)}, head {fmt(figure.head)}"


def _wait_axis(ax: Axes, longest_h: float) -> None:
    """Log scale from the floor to the first labelled tick past the longest wait (≥ 1 h)."""
    ax.set_xscale("log")
    end = next((i for i, (v, _) in enumerate(WAIT_TICKS) if v >= max(1.0, longest_h)), len(WAIT_TICKS) - 1)
    ticks = WAIT_TICKS[: end + 1]
    ax.set_xticks([v for v, _ in ticks], [label for _, label in ticks], fontsize=7)
    ax.minorticks_off()
    ax.set_xlim(WAIT_FLOOR_H * 0.8, ticks[-1][0])


def wait_cdf_figure(comparison: Comparison) -> Figure:
    series, labels = comparison.series, _labels(comparison)
    teams = sorted(
        {team for curve in series.values() for team in curve.wait_quantiles_s} | set(comparison.teams or {})
    )
    columns = max(1, min(3, len(teams)))
    rows = max(1, -(-len(teams) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.3 * columns, 3.4 * rows), dpi=100, squeeze=False)
    for index, team in enumerate(teams):
        ax = axes[index // columns][index % columns]
        for side, curve in series.items():
            if team in curve.wait_quantiles_s:
                hours = [max(WAIT_FLOOR_H, w / 3600.0) for w in curve.wait_quantiles_s[team]]
                ax.step(hours, QUANTILES, where="post", label=labels.get(side, side), color=COLOURS.get(side))
        ax.set_title(f"team {team}{_unschedulable(comparison, team)}", fontsize=9)
        ax.set_xlabel("queue wait (log scale)")
        ax.set_ylabel("share of completed jobs")
        ax.set_ylim(0, 1.02)
        longest = max(
            (max(curve.wait_quantiles_s.get(team) or [0.0]) for curve in series.values()), default=0.0
        )
        _wait_axis(ax, longest / 3600.0)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    for index in range(len(teams), rows * columns):
        axes[index // columns][index % columns].axis("off")
    fig.suptitle("Queue-wait CDF per team (completed jobs, all seeds)")
    fig.tight_layout()
    return fig


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path)
    plt.close(fig)


def write_plots(comparison: Comparison, out: Path) -> list[Path]:
    """allocation.png, queue_wait_cdf.png and fragmentation.png in `out`; returns their paths."""
    paths = [out / "allocation.png", out / "queue_wait_cdf.png", out / "fragmentation.png"]
    allocation = ("allocation_pct", "GPU allocated (%)", "GPU allocation (mean over seeds)")
    fragmentation = ("fragmentation_pct", "fragmented GPU (%)", "Fragmentation (mean over seeds)")
    _save(over_time_figure(comparison, *allocation), paths[0])
    _save(wait_cdf_figure(comparison), paths[1])
    _save(over_time_figure(comparison, *fragmentation), paths[2])
    return paths
