"""`compare(CompareInputs, Backend) -> Comparison`: the base and the head desired states, the
same workload and seeds on both, run in parallel on a backend, and their differences with 95 %
intervals, per cluster, team and pool, plus structural warnings and the rollout's cost.

`Comparison.to_dict()` is `report.json` (schema `gpuctl.dev/simulate-compare/v1`,
docs/simulate-compare.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas.desired import DesiredState
from schemas.kinds import WorkloadProfile
from simulator.backends import Backend
from simulator.cluster import from_desired_state
from simulator.compare.metrics import (
    METRICS,
    TEAM_METRICS,
    Figures,
    cluster_figures,
    pool_figures,
    team_figures,
)
from simulator.compare.runner import PairOutcome, PairTask, Side, SideOutcome, run_pair, workload_horizon
from simulator.compare.series import SideSeries, side_series
from simulator.compare.stats import Difference, paired
from simulator.compare.warnings import structural_warnings
from simulator.config import SimParameters
from simulator.jobs import JobTable
from simulator.quotas import quotas_from_state
from simulator.result import json_ready
from simulator.rollout_cost import PoolDisruption, disruptions, rollout_outages
from simulator.standing import StandingWorkload, standing_table, standing_workloads

COMPARE_SCHEMA = "gpuctl.dev/simulate-compare/v1"


@dataclass
class CompareInputs:
    """Two desired states and one workload. `standing` adds each side's standing workloads;
    `rollout` makes the nodes the change drains unavailable at the start of the head's run.
    Kueue quotas of each state always apply to that state's side."""

    base: DesiredState
    head: DesiredState
    workload: JobTable | WorkloadProfile
    params: SimParameters
    seeds: int
    base_label: str = "base"
    head_label: str = "head"
    workload_label: str = ""
    standing: bool = True
    rollout: bool = True

    def horizon(self) -> float:
        return workload_horizon(self.workload, self.params)


@dataclass
class Comparison:
    """Everything the reports show."""

    inputs: dict[str, Any]
    clusters: dict[str, Any]
    metrics: dict[str, Difference]
    teams: dict[str, dict[str, Difference]]
    pools: dict[str, Difference]
    warnings: list[str]
    rollout: list[PoolDisruption]
    standing: dict[str, list[StandingWorkload]]
    errors: list[str]
    series: dict[str, SideSeries] = field(default_factory=dict)

    @property
    def significant(self) -> list[str]:
        return [name for name, d in self.metrics.items() if d.significant]

    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema": COMPARE_SCHEMA,
            "inputs": self.inputs,
            "clusters": self.clusters,
            "metrics": {name: d.to_dict() for name, d in self.metrics.items()},
            "teams": {t: {n: d.to_dict() for n, d in figs.items()} for t, figs in self.teams.items()},
            "pools": {p: d.to_dict() for p, d in self.pools.items()},
            "warnings": self.warnings,
            "rollout": [
                {
                    "pool": r.pool,
                    "reasons": list(r.reasons),
                    "nodes": r.nodes,
                    "batch_size": r.batch_size,
                    "batches": r.batches,
                    "step_s": r.step_s,
                    "duration_s": r.duration_s,
                }
                for r in self.rollout
            ],
            "standing": {side: [vars(w) for w in found] for side, found in self.standing.items()},
            "errors": self.errors,
            "series": {side: s.to_dict() for side, s in self.series.items()},
        }
        cleaned: dict[str, Any] = json_ready(data)
        return cleaned


def _differences(base: list[Figures], head: list[Figures], names: list[str]) -> dict[str, Difference]:
    return {name: paired([b.get(name) for b in base], [h.get(name) for h in head]) for name in names}


def _grouped(
    pairs: list[PairOutcome], figures: Callable[[SideOutcome], dict[str, Figures]], names: list[str]
) -> dict[str, dict[str, Difference]]:
    """Differences per group (team or pool): `figures` reads each group's figures of one run."""
    base = [figures(p.base) for p in pairs]
    head = [figures(p.head) for p in pairs]
    groups = sorted({g for side in base + head for g in side})
    empty: Figures = {}
    return {
        group: _differences([b.get(group, empty) for b in base], [h.get(group, empty) for h in head], names)
        for group in groups
    }


def compare(inputs: CompareInputs, backend: Backend) -> Comparison:
    """Run every seed on both sides and compare. Raises `ModelError` if a state has no cluster,
    `ValueError` if its standing workloads or Kueue quotas cannot be read. Each side's Kueue
    ClusterQueues limit admission (`simulator.quotas`)."""
    base_spec, head_spec = from_desired_state(inputs.base), from_desired_state(inputs.head)
    horizon = inputs.horizon()
    standing = {
        "base": standing_workloads(inputs.base) if inputs.standing else [],
        "head": standing_workloads(inputs.head) if inputs.standing else [],
    }
    base = Side(
        inputs.base_label,
        base_spec,
        standing_table(standing["base"], horizon),
        quotas=quotas_from_state(inputs.base),
    )
    head = Side(
        inputs.head_label,
        head_spec,
        standing_table(standing["head"], horizon),
        rollout_outages(inputs.base, inputs.head) if inputs.rollout else [],
        quotas_from_state(inputs.head),
    )
    tasks = [
        PairTask(
            base,
            head,
            inputs.workload,
            inputs.params.model_copy(update={"seed": seed}),
            inputs.workload_label,
        )
        for seed in range(inputs.params.seed, inputs.params.seed + inputs.seeds)
    ]
    pairs = backend.map(run_pair, tasks)
    errors = [
        f"{side} seed {p.seed}: {outcome.result.error}"
        for p in pairs
        for side, outcome in (("base", p.base), ("head", p.head))
        if not outcome.result.ok
    ]
    names = list(METRICS)
    return Comparison(
        inputs={
            "base": inputs.base_label,
            "head": inputs.head_label,
            "workload": inputs.workload_label,
            "seeds": [t.params.seed for t in tasks],
            "horizon_s": horizon,
            "policy": inputs.params.policy,
            "queue": inputs.params.queue,
            "standing": inputs.standing,
            "rollout": inputs.rollout,
        },
        clusters={"base": base_spec.describe(), "head": head_spec.describe()},
        metrics=_differences(
            [cluster_figures(p.base) for p in pairs], [cluster_figures(p.head) for p in pairs], names
        ),
        teams=_grouped(pairs, team_figures, list(TEAM_METRICS)),
        pools={
            pool: d["gpu_allocation"] for pool, d in _grouped(pairs, pool_figures, ["gpu_allocation"]).items()
        },
        warnings=structural_warnings(base_spec, head_spec, pairs),
        rollout=disruptions(inputs.base, inputs.head) if inputs.rollout else [],
        standing=standing,
        errors=errors,
        series={
            "base": side_series([p.base for p in pairs]),
            "head": side_series([p.head for p in pairs]),
        },
    )
