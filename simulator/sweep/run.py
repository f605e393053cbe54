"""`sweep(...)`: every combination of the varied settings × seeds, each run a task on the
backend, summarised per combination as means with 95 % intervals over the seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.desired import DesiredState
from schemas.kinds import WorkloadProfile
from simulator.backends import Backend
from simulator.cluster import ModelError, from_desired_state
from simulator.compare.metrics import cluster_figures
from simulator.compare.runner import Side, SideOutcome, run_side, workload_horizon
from simulator.compare.stats import Estimate, mean_interval
from simulator.config import SimParameters
from simulator.jobs import JobTable
from simulator.quotas import quotas_from_state
from simulator.standing import standing_table, standing_workloads
from simulator.sweep.grid import Axis, apply, combinations

SWEEP_FIGURES = ("gpu_allocation", "queue_wait_p95", "jct_p50", "unschedulable", "fragmentation")


@dataclass
class SweepTask:
    """One seed of one combination (picklable: a Ray task or a process-pool job)."""

    side: Side
    workload: JobTable | WorkloadProfile
    params: SimParameters
    workload_label: str = ""


def run_task(task: SweepTask) -> SideOutcome:
    return run_side(task.side, task.workload, task.params, task.workload_label)


@dataclass
class SweepRow:
    combination: dict[str, str]
    figures: dict[str, Estimate] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    raw: list[dict[str, float | None]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "combination": self.combination,
            "figures": {
                k: {"mean": e.mean, "ci95_half_width": e.half_width, "seeds": e.seeds}
                for k, e in self.figures.items()
            },
            "errors": self.errors,
            "per_seed": self.raw,
        }


def sweep(
    state: DesiredState,
    workload: JobTable | WorkloadProfile,
    params: SimParameters,
    axes: list[Axis],
    *,
    seeds: int,
    backend: Backend,
    standing: bool = True,
    workload_label: str = "",
) -> list[SweepRow]:
    """Run every combination of `axes` with seeds params.seed … params.seed + seeds − 1."""
    horizon = workload_horizon(workload, params)
    rows: list[SweepRow] = []
    tasks: list[SweepTask] = []
    owners: list[int] = []
    for combo in combinations(axes):
        row = SweepRow(combo)
        rows.append(row)
        varied, combo_params = apply(state, params, combo)
        try:
            spec = from_desired_state(varied)
        except ModelError as err:
            row.errors.append(str(err))
            continue
        found = standing_workloads(varied) if standing else []
        label = ", ".join(f"{k}={v}" for k, v in combo.items()) or "base"
        side = Side(label, spec, standing_table(found, horizon), quotas=quotas_from_state(varied))
        for seed in range(params.seed, params.seed + seeds):
            tasks.append(
                SweepTask(side, workload, combo_params.model_copy(update={"seed": seed}), workload_label)
            )
            owners.append(len(rows) - 1)
    outcomes = backend.map(run_task, tasks)
    per_row: dict[int, list[SideOutcome]] = {}
    for owner, outcome in zip(owners, outcomes, strict=True):
        per_row.setdefault(owner, []).append(outcome)
    for index, outcomes_of_row in per_row.items():
        row = rows[index]
        row.errors += [f"seed {o.result.seed}: {o.result.error}" for o in outcomes_of_row if not o.result.ok]
        row.raw = [cluster_figures(o) for o in outcomes_of_row]
        row.figures = {name: mean_interval([r.get(name) for r in row.raw]) for name in SWEEP_FIGURES}
    return rows
