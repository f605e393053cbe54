"""What a replay run measures, recorded as it happens and summarised at the end.

Recorded: every change of allocated GPU (time, milli) for the allocation curve and its
time-weighted mean; each job's start, finish and terminal state; GPU-seconds per team;
fragmentation samples. Summaries: queue wait and job completion time percentiles per job
class, kind, queue and team, effective utilisation (work done at full speed on the GPU share each job
held ÷ GPU capacity × time, so sharing slowdowns count against it), fragmentation amount and
rate over time.
"""

from __future__ import annotations

from array import array
from enum import IntEnum
from typing import Any

import numpy as np

from simulator.jobs import FloatArray, JobTable


class JobState(IntEnum):
    WAITING = 0
    RUNNING = 1
    COMPLETED = 2
    UNSCHEDULABLE = 3
    FAILED = 4


TERMINAL = (JobState.COMPLETED, JobState.UNSCHEDULABLE, JobState.FAILED)


def percentiles(values: FloatArray) -> dict[str, float | int]:
    if values.shape[0] == 0:
        return {"count": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99]).tolist()
    return {"count": int(values.shape[0]), "mean": float(values.mean()), "p50": p50, "p95": p95, "p99": p99}


def downsample(
    times: FloatArray, values: FloatArray, end: float, points: int
) -> tuple[list[float], list[float]]:
    """A step function (value holds from its time to the next) as `points` time-weighted bucket means."""
    if times.shape[0] == 0 or end <= times[0]:
        return times.tolist(), values.tolist()
    edges = np.linspace(times[0], end, points + 1)
    knots = np.concatenate([times, [end]])
    area = np.concatenate([[0.0], np.cumsum(values * np.diff(knots))])

    def integral(at: FloatArray) -> FloatArray:
        idx = np.clip(np.searchsorted(knots, at, side="right") - 1, 0, values.shape[0] - 1)
        result: FloatArray = area[idx] + values[idx] * (at - knots[idx])
        return result

    means = np.diff(integral(edges)) / np.diff(edges)
    return edges[:-1].tolist(), means.tolist()


class ReplayRecorder:
    """Collects a replay's events. Times are simulation seconds."""

    def __init__(self, jobs: JobTable, total_milli: int, arrival: FloatArray) -> None:
        """`arrival` are the times jobs arrived in the simulation (the trace's, time-scaled)."""
        n = len(jobs)
        self.jobs = jobs
        self.arrival = arrival
        self.total_milli = total_milli
        self.start = np.full(n, np.nan)
        self.finish = np.full(n, np.nan)
        self.state = np.zeros(n, dtype=np.int8)
        self.held_milli = np.zeros(n, dtype=np.int64)  # GPU milli a job holds while it runs
        self.reasons: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.change_time = array("d")
        self.change_value = array("d")
        self.frag_time: list[float] = []
        self.frag_amount: list[float] = []
        self.frag_rate: list[float] = []
        self.max_allocated = 0

    def allocation(self, now: float, allocated_milli: int) -> None:
        """Allocated GPU changed at `now` to `allocated_milli`."""
        self.change_time.append(now)
        self.change_value.append(allocated_milli)
        self.max_allocated = max(self.max_allocated, allocated_milli)

    def unschedulable(self, job: int, reason: str) -> None:
        self.state[job] = JobState.UNSCHEDULABLE
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def failed(self, job: int, now: float, reason: str) -> None:
        self.state[job] = JobState.FAILED
        self.finish[job] = now
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def fragmentation(self, now: float, amount: float, rate: float) -> None:
        self.frag_time.append(now)
        self.frag_amount.append(100.0 * amount)
        self.frag_rate.append(100.0 * rate)

    def summary(self, end: float, points: int) -> dict[str, Any]:
        jobs = self.jobs
        arrival = self.arrival
        done = self.state == JobState.COMPLETED
        wait = self.start - arrival
        jct = self.finish - arrival
        times = np.frombuffer(self.change_time, dtype=np.float64)
        values = np.frombuffer(self.change_value, dtype=np.float64) / self.total_milli
        begin = float(times[0]) if times.shape[0] else 0.0
        span = max(end - begin, 0.0)
        if times.shape[0] and span > 0:
            area = float((values * np.diff(np.concatenate([times, [end]]))).sum())
            mean_alloc = area / span
        else:
            mean_alloc = 0.0
        useful = float((jobs.work * self.held_milli)[done].sum()) / 1000.0
        gpus = self.total_milli / 1000.0
        curve_t, curve_v = downsample(times, values, end, points)
        by = {
            "class": (jobs.job_class, jobs.classes),
            "kind": (jobs.kind, jobs.kinds),
            "queue": (jobs.queue, jobs.queues),
            "team": (jobs.team, jobs.teams),
        }
        groups: dict[str, dict[str, Any]] = {}
        for label, (ids, names) in by.items():
            groups[label] = {
                name: {
                    "wait_s": percentiles(wait[done & (ids == i)]),
                    "jct_s": percentiles(jct[done & (ids == i)]),
                }
                for i, name in enumerate(names)
                if bool((ids == i).any())
            }
        held_seconds = np.where(done, (self.finish - self.start) * self.held_milli, 0.0)
        team_area = np.bincount(jobs.team, weights=held_seconds, minlength=len(jobs.teams))
        team_total = float(team_area.sum()) or 1.0
        return {
            "jobs": {
                "total": len(jobs),
                "completed": int(done.sum()),
                "unschedulable": int((self.state == JobState.UNSCHEDULABLE).sum()),
                "unschedulable_reasons": dict(sorted(self.reasons.items())),
                "failed": int((self.state == JobState.FAILED).sum()),
                "failed_reasons": dict(sorted(self.failures.items())),
                "not_finished": int((~np.isin(self.state, [int(s) for s in TERMINAL])).sum()),
            },
            "makespan_s": span,
            "gpu_allocation": {
                "time_weighted_mean": mean_alloc,
                "peak": self.max_allocated / self.total_milli,
                "series": {"time_s": curve_t, "ratio": curve_v},
            },
            "effective_utilisation": useful / (gpus * span) if span > 0 and gpus else 0.0,
            "wait_s": percentiles(wait[done]),
            "jct_s": percentiles(jct[done]),
            "by_class": groups["class"],
            "by_kind": groups["kind"],
            "by_queue": groups["queue"],
            "by_team": groups["team"],
            "team_share": {
                name: float(team_area[i]) / team_total for i, name in enumerate(jobs.teams) if team_area[i]
            },
            "fragmentation": {
                "time_s": self.frag_time,
                "amount_pct": self.frag_amount,
                "rate_pct": self.frag_rate,
            },
        }
