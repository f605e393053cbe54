"""The figures a comparison reports, read from one side's run: their names (the ones the gate
uses), units, and which direction is better. Cluster-wide, per team and per pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from simulator.compare.runner import SideOutcome

Unit = Literal["%", "s", "jobs"]
Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: Unit  # "%" figures change in percentage points
    better: Better
    description: str


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo(
            "gpu_allocation",
            "%",
            "higher",
            "time-weighted share of GPU capacity allocated to jobs over the workload's horizon "
            "(the same window on both sides)",
        ),
        MetricInfo("effective_utilisation", "%", "higher", "work done at full speed ÷ GPU capacity × time"),
        MetricInfo("queue_wait_p50", "s", "lower", "median queue wait of completed jobs"),
        MetricInfo("queue_wait_p95", "s", "lower", "95th percentile queue wait"),
        MetricInfo("queue_wait_p99", "s", "lower", "99th percentile queue wait"),
        MetricInfo("jct_p50", "s", "lower", "median job completion time (wait + run)"),
        MetricInfo("jct_p95", "s", "lower", "95th percentile job completion time"),
        MetricInfo("completed", "jobs", "higher", "jobs that ran to completion"),
        MetricInfo("unschedulable", "jobs", "lower", "jobs no node of the cluster can ever hold"),
        MetricInfo("failed", "jobs", "lower", "jobs that failed at start (GPU memory, when modelled)"),
        MetricInfo("fragmentation", "%", "lower", "mean fragmented share of GPU capacity (FGD definition)"),
    )
}
TEAM_METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("queue_wait_p95", "s", "lower", "95th percentile queue wait of the team's jobs"),
        MetricInfo("jct_p50", "s", "lower", "median completion time of the team's jobs"),
        MetricInfo("gpu_share", "%", "higher", "the team's share of allocated GPU-seconds"),
        MetricInfo("unschedulable", "jobs", "lower", "the team's jobs no node can ever hold"),
    )
}
POOL_METRIC = MetricInfo(
    "gpu_allocation",
    "%",
    "higher",
    "time-weighted share of the pool's GPU allocated over the workload's horizon",
)

Figures = dict[str, float | None]


def _get(tree: dict[str, object], *path: str) -> float | None:
    node: object = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) else None


def cluster_figures(side: SideOutcome) -> Figures:
    """The cluster-wide figures of one run (empty if the run failed)."""
    if not side.result.ok:
        return {}
    m = side.result.metrics
    amount = m.get("fragmentation", {}).get("amount_pct") or []
    core_allocation = _get(m, "gpu_allocation", "time_weighted_mean")
    allocation = side.cluster_allocation_pct
    if allocation is None and core_allocation is not None:
        allocation = 100.0 * core_allocation
    utilisation = _get(m, "effective_utilisation")
    return {
        "gpu_allocation": allocation,
        "effective_utilisation": None if utilisation is None else 100.0 * utilisation,
        "queue_wait_p50": _get(m, "wait_s", "p50"),
        "queue_wait_p95": _get(m, "wait_s", "p95"),
        "queue_wait_p99": _get(m, "wait_s", "p99"),
        "jct_p50": _get(m, "jct_s", "p50"),
        "jct_p95": _get(m, "jct_s", "p95"),
        "completed": _get(m, "jobs", "completed"),
        "unschedulable": _get(m, "jobs", "unschedulable"),
        "failed": _get(m, "jobs", "failed"),
        "fragmentation": float(np.mean(amount)) if amount else None,
    }


def team_figures(side: SideOutcome) -> dict[str, Figures]:
    """Per team: wait and completion percentiles, GPU share, unschedulable jobs."""
    if not side.result.ok:
        return {}
    m = side.result.metrics
    by_team = m.get("by_team", {})
    shares = m.get("team_share", {})
    teams = sorted({team for team, _ in side.requests} | set(by_team))
    result = {}
    for team in teams:
        share = shares.get(team)
        result[team] = {
            "queue_wait_p95": _get(by_team, team, "wait_s", "p95"),
            "jct_p50": _get(by_team, team, "jct_s", "p50"),
            "gpu_share": 100.0 * share if share is not None else 0.0,
            "unschedulable": float(side.unschedulable_by_team.get(team, 0)),
        }
    return result


def pool_figures(side: SideOutcome) -> dict[str, Figures]:
    """Per pool: time-weighted GPU allocation in percent."""
    return {pool: {"gpu_allocation": pct} for pool, pct in side.pool_allocation_pct.items()}
