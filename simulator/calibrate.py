"""Calibration: replay a captured trace against a desired state and compare what the simulator
predicts with what the cluster did: queue waits per team and GPU devices held per pool over time.
The errors say how far to trust a pre-merge prediction on this cluster's workload.

Input is a gpuctl CSV trace with the observed columns `gpuctl trace export` writes
(`observed_wait`, `pool`); `load_observed` aligns them with the loaded JobTable by `job_id`.
Jobs are pinned to the GPU model of the pool they ran on (their node selector is not in the
trace). Imports `schemas` and the simulator only; the CLI hands it files and the desired state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from schemas.desired import DesiredState
from simulator.cluster import ClusterSpec
from simulator.config import SimParameters
from simulator.engine.replay import ReplayEngine
from simulator.jobs import FloatArray, JobTable
from simulator.placement import Placement
from simulator.quotas import QuotaSpec
from simulator.traces.errors import TraceError, parse_float, read_rows

OBSERVED_COLUMNS = ("job_id", "observed_wait", "pool")


@dataclass(frozen=True)
class Observed:
    """What the cluster did, per job of a JobTable (same order)."""

    wait_s: FloatArray
    pool: list[str]


def load_observed(path: str | Path, jobs: JobTable) -> Observed:
    """The observed wait and pool of every job of `jobs` (loaded from the same file)."""
    path = Path(path)
    by_name: dict[str, tuple[float, str]] = {}
    for line, row in read_rows(path, OBSERVED_COLUMNS):
        wait = parse_float(path, line, "observed_wait", row["observed_wait"])
        by_name[row["job_id"].strip()] = (wait, row["pool"].strip())
    missing = [name for name in jobs.names if name not in by_name]
    if missing or len(jobs.names) != len(jobs):
        raise TraceError(path, 2, f"no observed row for job {missing[0] if missing else '(unnamed)'!r}")
    rows = [by_name[name] for name in jobs.names]
    return Observed(np.array([w for w, _ in rows], dtype=np.float64), [p for _, p in rows])


def node_pools(state: DesiredState) -> list[str]:
    """The pool of every node of `simulator.cluster.from_desired_state(state)`, in its order."""
    return [pool.metadata.name for pool in state.pools for _ in range(pool.spec.nodes)]


def pin_to_pool_models(jobs: JobTable, observed: Observed, models: Mapping[str, str]) -> JobTable:
    """A copy of `jobs` where each job that ran in a known pool may only use that pool's GPU model."""
    names = sorted({models[p] for p in observed.pool if p in models})
    bits = [1 << names.index(models[p]) if p in models else 0 for p in observed.pool]
    mask = np.array(bits, dtype=np.int64)
    pinned = jobs.take(np.arange(len(jobs)))
    pinned.models = names
    pinned.model_mask = mask
    return pinned


class _Placements:
    """Replay observer: the pool and devices each job started on."""

    def __init__(self, pools_of_nodes: Sequence[str], jobs: int) -> None:
        self.pools_of_nodes = pools_of_nodes
        self.pool = [""] * jobs
        self.devices = np.zeros(jobs, dtype=np.int64)

    def started(self, engine: ReplayEngine, job: int, placements: list[Placement]) -> None:
        self.pool[job] = self.pools_of_nodes[placements[0].node]
        self.devices[job] = sum(len(p.devices) for p in placements)

    def finished(self, engine: ReplayEngine, job: int) -> None:
        return None


def _stats(values: FloatArray) -> dict[str, float]:
    if values.shape[0] == 0:
        return {"jobs": 0}
    p95 = float(np.percentile(values, 95))
    return {"jobs": int(values.shape[0]), "mean": float(values.mean()), "p95": p95}


def _held(start: FloatArray, end: FloatArray, devices: FloatArray, edges: FloatArray) -> FloatArray:
    """Mean devices held in each bucket between consecutive `edges`."""
    lo = np.maximum(start[:, None], edges[None, :-1])
    hi = np.minimum(end[:, None], edges[None, 1:])
    overlap = np.clip(hi - lo, 0.0, None)
    held: FloatArray = (overlap * devices[:, None]).sum(axis=0) / np.diff(edges)
    return held


def calibrate(
    spec: ClusterSpec,
    jobs: JobTable,
    observed: Observed,
    pools_of_nodes: Sequence[str],
    params: SimParameters,
    *,
    quotas: QuotaSpec | None = None,
    buckets: int = 48,
) -> dict[str, Any]:
    """Replay `jobs` on `spec` and compare with `observed`; a JSON-ready report."""
    if len(jobs) == 0:
        raise ValueError("the trace has no jobs")
    placements = _Placements(pools_of_nodes, len(jobs))
    engine = ReplayEngine(spec, jobs, params, np.random.default_rng(params.seed), observer=placements,
                          quotas=quotas)
    engine.run()
    sim_start, sim_end = engine.recorder.start, engine.recorder.finish
    arrival = jobs.arrival * params.time_scale
    ran = ~np.isnan(sim_start)
    sim_wait = sim_start - arrival
    obs_start = jobs.arrival + observed.wait_s
    obs_end = obs_start + jobs.work
    obs_devices = (jobs.pods * jobs.gpus).astype(np.float64)
    horizon = float(max(np.nanmax(obs_end), np.nanmax(sim_end) if ran.any() else 0.0))
    edges = np.linspace(float(jobs.arrival.min()), horizon, buckets + 1)
    teams: dict[str, Any] = {}
    for index, team in enumerate(jobs.teams):
        mine = jobs.team == index
        if not mine.any():
            continue
        obs, sim = _stats(observed.wait_s[mine & ran]), _stats(sim_wait[mine & ran])
        entry: dict[str, Any] = {"observed_wait_s": obs, "simulated_wait_s": sim,
                                 "not_started_in_simulation": int((mine & ~ran).sum())}
        if obs.get("jobs"):
            entry["wait_error_s"] = sim["mean"] - obs["mean"]
            entry["wait_p95_error_s"] = sim["p95"] - obs["p95"]
        teams[team] = entry
    pools: dict[str, Any] = {}
    sim_pool = np.array(placements.pool, dtype=object)
    obs_pool = np.array(observed.pool, dtype=object)
    for pool in sorted({p for p in (*observed.pool, *placements.pool) if p}):
        o = obs_pool == pool
        s = (sim_pool == pool) & ran
        obs_held = _held(obs_start[o], obs_end[o], obs_devices[o], edges)
        sim_held = _held(sim_start[s], sim_end[s], placements.devices[s].astype(np.float64), edges)
        mean_obs = float(obs_held.mean())
        error = float(np.abs(sim_held - obs_held).mean())
        pools[pool] = {
            "observed_devices_mean": mean_obs,
            "simulated_devices_mean": float(sim_held.mean()),
            "allocation_mae_devices": error,
            "allocation_mae_relative": error / mean_obs if mean_obs else None,
            "jobs_observed": int(o.sum()),
            "jobs_simulated": int(s.sum()),
        }
    all_obs, all_sim = observed.wait_s[ran], sim_wait[ran]
    return {
        "jobs": len(jobs),
        "not_started_in_simulation": int((~ran).sum()),
        "window_s": horizon - float(jobs.arrival.min()),
        "buckets": buckets,
        "wait_mae_s": float(np.abs(all_sim - all_obs).mean()) if ran.any() else None,
        "by_team": teams,
        "by_pool": pools,
    }
