"""The report's PNG plots (matplotlib, Agg backend, no display needed): GPU allocation over
time, the queue-wait CDF of each team, and fragmentation over time, base against head."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from simulator.compare.comparison import Comparison
from simulator.compare.series import QUANTILES, SideSeries

COLOURS = {"base": "#1f77b4", "head": "#d62728"}


def _over_time(series: dict[str, SideSeries], field: str, ylabel: str, title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    for side, curve in series.items():
        hours = [t / 3600.0 for t in curve.time_s]
        ax.plot(hours, getattr(curve, field), label=side, color=COLOURS.get(side), linewidth=1.2)
    ax.set_xlabel("simulated time (h)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _wait_cdf(series: dict[str, SideSeries], path: Path) -> None:
    teams = sorted({team for curve in series.values() for team in curve.wait_quantiles_s})
    columns = max(1, min(3, len(teams)))
    rows = max(1, -(-len(teams) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), dpi=100, squeeze=False)
    for index, team in enumerate(teams):
        ax = axes[index // columns][index % columns]
        for side, curve in series.items():
            if team in curve.wait_quantiles_s:
                hours = [w / 3600.0 for w in curve.wait_quantiles_s[team]]
                ax.step(hours, QUANTILES, where="post", label=side, color=COLOURS.get(side))
        ax.set_title(f"team {team}")
        ax.set_xlabel("queue wait (h, symlog)")
        ax.set_ylabel("share of jobs")
        ax.set_ylim(0, 1.02)
        ax.set_xscale("symlog", linthresh=0.1)  # minutes and weeks on one axis
        ax.grid(alpha=0.3)
        ax.legend()
    for index in range(len(teams), rows * columns):
        axes[index // columns][index % columns].axis("off")
    fig.suptitle("Queue-wait CDF per team (completed jobs, all seeds)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_plots(comparison: Comparison, out: Path) -> list[Path]:
    """allocation.png, queue_wait_cdf.png and fragmentation.png in `out`; returns their paths."""
    series = comparison.series
    paths = [out / "allocation.png", out / "queue_wait_cdf.png", out / "fragmentation.png"]
    _over_time(series, "allocation_pct", "GPU allocated (%)", "GPU allocation (mean over seeds)", paths[0])
    _wait_cdf(series, paths[1])
    _over_time(series, "fragmentation_pct", "fragmented GPU (%)", "Fragmentation (mean over seeds)", paths[2])
    return paths
