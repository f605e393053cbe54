"""Curves for the plots, pooled over seeds: GPU allocation and fragmentation over time (each
run's samples interpolated onto one time grid, then averaged) and the queue-wait distribution
of each team (all seeds' completed jobs together, as quantiles)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.compare.runner import SideOutcome

GRID_POINTS = 200
QUANTILES = np.linspace(0.0, 1.0, 101)


@dataclass
class SideSeries:
    """One side's curves. Times in seconds, allocation and fragmentation in percent."""

    time_s: list[float] = field(default_factory=list)
    allocation_pct: list[float] = field(default_factory=list)
    fragmentation_pct: list[float] = field(default_factory=list)
    wait_quantiles_s: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "time_s": self.time_s,
            "allocation_pct": self.allocation_pct,
            "fragmentation_pct": self.fragmentation_pct,
            "wait_quantiles": [float(q) for q in QUANTILES],
            "wait_quantiles_s": self.wait_quantiles_s,
        }


def side_series(sides: list[SideOutcome], end: float | None = None) -> SideSeries:
    """The pooled curves of the successful runs in `sides`."""
    runs = [s for s in sides if s.result.ok]
    if not runs:
        return SideSeries()
    metrics = [s.result.metrics for s in runs]
    if end is None:
        end = max(max(m["gpu_allocation"]["series"]["time_s"] or [0.0]) for m in metrics)
    grid = np.linspace(0.0, max(end, 1.0), GRID_POINTS)
    allocation = np.mean(
        [
            np.interp(
                grid,
                m["gpu_allocation"]["series"]["time_s"],
                m["gpu_allocation"]["series"]["ratio"],
                0.0,
                0.0,
            )
            for m in metrics
        ],
        axis=0,
    )
    fragmentation = np.mean(
        [np.interp(grid, m["fragmentation"]["time_s"], m["fragmentation"]["amount_pct"]) for m in metrics],
        axis=0,
    )
    teams = sorted({team for s in runs for team in s.waits_by_team})
    waits = {}
    for team in teams:
        pooled = np.concatenate([s.waits_by_team.get(team, np.zeros(0)) for s in runs])
        if pooled.shape[0]:
            waits[team] = np.quantile(pooled, QUANTILES).tolist()
    return SideSeries(grid.tolist(), (100.0 * allocation).tolist(), fragmentation.tolist(), waits)
