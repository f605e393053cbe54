"""`run(SimConfig) -> RunResult`: build the cluster and the workload, run the chosen mode with
one seeded numpy Generator, and always return a result carrying the config, seed and error.

`run_seeds` repeats a config over several seeds (seed, seed+1, ...). Wiring only: the work
is in `simulator.cluster`, `simulator.traces`, `simulator.inflate` and `simulator.engine`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from schemas.desired import DesiredState
from simulator.cluster import ClusterSpec, from_desired_state
from simulator.config import SimConfig
from simulator.errors import InputError
from simulator.inflate import inflate
from simulator.jobs import JobTable, workload_summary
from simulator.progress import Progress, no_progress
from simulator.quotas import quotas_from_state
from simulator.result import RunResult
from simulator.traces import generate_from_profile


def _cluster(config: SimConfig) -> ClusterSpec:
    if isinstance(config.cluster, DesiredState):
        return from_desired_state(config.cluster)
    return config.cluster


def _jobs(config: SimConfig, rng: np.random.Generator) -> JobTable:
    if isinstance(config.workload, JobTable):
        return config.workload
    return generate_from_profile(config.workload, rng, config.params.horizon)


def run(config: SimConfig, progress: Progress = no_progress) -> RunResult:
    """Run one experiment. Input errors end up in `RunResult.error`; bugs still raise."""
    params = config.params
    result = RunResult(
        mode=params.mode,
        policy=params.policy,
        seed=params.seed,
        config={**params.model_dump(mode="json"), "cluster_source": config.cluster_label},
    )
    try:
        rng = np.random.default_rng(params.seed)
        spec = _cluster(config)
        result.cluster = spec.describe()
        jobs = _jobs(config, rng)
        result.workload = workload_summary(jobs, config.workload_label)
        if len(jobs) == 0:
            raise InputError("the workload has no jobs")
        if params.mode == "inflate":
            outcome = inflate(spec, jobs, params, rng, progress)
            result.metrics = {
                "pods_offered": outcome.offered,
                "pods_placed": outcome.placed,
                "pods_failed": outcome.failed,
                "failed_gpu": outcome.failed_gpu,
                "unallocated_gpu_pct_at_100": outcome.unallocated_at(100.0),
                "curve": {
                    "arrived_pct": outcome.arrived_pct,
                    "unallocated_gpu_pct": [100.0 - a for a in outcome.allocated_pct],
                    "fragmentation_amount_pct": outcome.fragmentation_amount_pct,
                    "fragmentation_rate_pct": outcome.fragmentation_rate_pct,
                },
            }
        else:
            from simulator.engine.replay import ReplayEngine

            quotas = config.quotas
            if quotas is None and isinstance(config.cluster, DesiredState):
                quotas = quotas_from_state(config.cluster)
            engine = ReplayEngine(spec, jobs, params, rng, progress=progress, quotas=quotas)
            result.metrics = engine.run()
    except InputError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def run_seeds(config: SimConfig, seeds: int, progress: Progress = no_progress) -> list[RunResult]:
    """`seeds` runs of `config` with seeds seed, seed+1, …"""
    results = []
    for offset in range(seeds):
        params = config.params.model_copy(update={"seed": config.params.seed + offset})
        single = dataclasses.replace(config, params=params)
        results.append(run(single, progress))
    return results
