"""One seed of a comparison: the same jobs (common random numbers) replayed on the base and on
the head cluster. `run_pair(PairTask) -> PairOutcome` is a top-level function of picklable
arguments, so a process pool or a Ray task can run it.

For each side the run draws the profile's jobs with `default_rng(seed)` and keeps using that
generator for the placement ties, exactly as `simulator.run` does: without standing workloads
or a rollout, a side's numbers equal `gpuctl simulate` on that state with that seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from schemas.kinds import WorkloadProfile
from simulator.cluster.spec import ClusterSpec
from simulator.compare.engine import OutageReplayEngine
from simulator.config import SimParameters
from simulator.errors import InputError
from simulator.jobs import FloatArray, JobTable, workload_summary
from simulator.metrics import JobState
from simulator.quotas import QuotaSpec
from simulator.result import RunResult
from simulator.rollout_cost import NodeOutage
from simulator.standing import concat_tables
from simulator.traces import generate_from_profile


@dataclass
class Side:
    """One side's cluster and what it adds to the shared workload."""

    label: str
    spec: ClusterSpec
    standing: JobTable | None = None
    outages: list[NodeOutage] = field(default_factory=list)
    quotas: QuotaSpec | None = None


@dataclass
class PairTask:
    """Everything one seed needs; `workload` is a fixed table or a profile to draw from."""

    base: Side
    head: Side
    workload: JobTable | WorkloadProfile
    params: SimParameters
    workload_label: str = ""


@dataclass
class SideOutcome:
    """A side's run: the core's `RunResult` plus per-pool allocation, per-team waits and
    how many jobs each team asked of each resource."""

    result: RunResult
    pool_allocation_pct: dict[str, float] = field(default_factory=dict)
    waits_by_team: dict[str, FloatArray] = field(default_factory=dict)
    requests: dict[tuple[str, str], int] = field(default_factory=dict)
    unschedulable_by_team: dict[str, int] = field(default_factory=dict)
    # GPU allocation of the whole cluster over the comparison window, in percent.
    cluster_allocation_pct: float | None = None


@dataclass
class PairOutcome:
    seed: int
    base: SideOutcome
    head: SideOutcome


def workload_horizon(workload: JobTable | WorkloadProfile, params: SimParameters) -> float:
    """How long standing workloads run: `params.horizon`, else the profile's horizon, else the
    trace's last (time-scaled) arrival."""
    if params.horizon is not None:
        return params.horizon
    if isinstance(workload, WorkloadProfile):
        return workload.spec.horizon
    return float(workload.arrival.max()) * params.time_scale if len(workload) else 0.0


def _requests(jobs: JobTable) -> dict[tuple[str, str], int]:
    """Jobs per (team, requested resource); a fractional request counts as `nvidia.com/gpu`."""
    counts: dict[tuple[str, str], int] = {}
    for team, resource in zip(jobs.team.tolist(), jobs.resource.tolist(), strict=True):
        key = (jobs.teams[team], jobs.resources[resource])
        counts[key] = counts.get(key, 0) + 1
    return counts


def run_side(
    side: Side, workload: JobTable | WorkloadProfile, params: SimParameters, workload_label: str = ""
) -> SideOutcome:
    """Replay `workload` (plus the side's standing workloads) on the side's cluster."""
    result = RunResult(
        mode="replay",
        policy=params.policy,
        seed=params.seed,
        config={**params.model_dump(mode="json"), "cluster_source": side.label},
    )
    outcome = SideOutcome(result)
    try:
        rng = np.random.default_rng(params.seed)
        result.cluster = side.spec.describe()
        if isinstance(workload, JobTable):
            jobs = workload
        else:
            jobs = generate_from_profile(workload, rng, params.horizon)
        if side.standing is not None and len(side.standing):
            jobs = concat_tables(side.standing, jobs)
        result.workload = workload_summary(jobs, workload_label)
        if len(jobs) == 0:
            raise ValueError("the workload has no jobs")
        window = workload_horizon(workload, params) or None
        engine = OutageReplayEngine(
            side.spec, jobs, params, rng, outages=side.outages, quotas=side.quotas, window=window
        )
        result.metrics = engine.run()
        end = engine.env.now
        if window is None:  # an empty trace window: fall back to each side's own run length
            outcome.pool_allocation_pct = engine.usage.allocation_pct(end - result.metrics["makespan_s"], end)
        else:
            outcome.pool_allocation_pct, outcome.cluster_allocation_pct = engine.usage.window_allocation_pct(
                end
            )
        outcome.waits_by_team = engine.waits_by_team()
        outcome.requests = _requests(jobs)
        outcome.unschedulable_by_team = engine.count_by_team(JobState.UNSCHEDULABLE)
    except InputError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return outcome


def run_pair(task: PairTask) -> PairOutcome:
    """Base and head for the task's seed, with identical jobs and generator state."""
    args = (task.workload, task.params, task.workload_label)
    return PairOutcome(task.params.seed, run_side(task.base, *args), run_side(task.head, *args))
