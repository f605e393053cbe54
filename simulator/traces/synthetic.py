"""Synthetic workloads drawn from a `WorkloadProfile`'s job classes with one numpy Generator.

Arrivals are Poisson (`ratePerHour`) or bursts (`size` jobs every `every`, each shifted by a
uniform jitter); durations lognormal (from median and p90), exponential or fixed. A class
with `gang: false` yields one single-pod job per pod.
"""

from __future__ import annotations

import math

import numpy as np

from schemas.kinds import (
    BurstArrival,
    ExponentialDuration,
    FixedDuration,
    JobClass,
    LognormalDuration,
    PoissonArrival,
    WorkloadProfile,
)
from simulator.jobs import GPU_RESOURCE, FloatArray, JobTable, empty_columns

_Z90 = 1.2815515655446004  # standard normal quantile at 0.9


def _arrivals(job_class: JobClass, horizon: float, rng: np.random.Generator) -> FloatArray:
    arrival = job_class.arrival
    if isinstance(arrival, PoissonArrival):
        count = rng.poisson(arrival.rate_per_hour * horizon / 3600.0)
        return np.sort(rng.uniform(0.0, horizon, size=count))
    assert isinstance(arrival, BurstArrival)
    starts = np.arange(0.0, horizon, arrival.every) if arrival.every > 0 else np.zeros(1)
    times = np.repeat(starts, arrival.size)
    if arrival.jitter > 0:
        times = times + rng.uniform(0.0, arrival.jitter, size=times.shape[0])
    return np.sort(times[times < horizon])


def _durations(job_class: JobClass, count: int, rng: np.random.Generator) -> FloatArray:
    dist = job_class.duration
    if isinstance(dist, LognormalDuration):
        sigma = (math.log(dist.p90) - math.log(dist.median)) / _Z90
        return rng.lognormal(math.log(dist.median), sigma, size=count)
    if isinstance(dist, ExponentialDuration):
        return rng.exponential(dist.mean, size=count)
    assert isinstance(dist, FixedDuration)
    return np.full(count, dist.value)


def generate_from_profile(
    profile: WorkloadProfile, rng: np.random.Generator, horizon: float | None = None
) -> JobTable:
    """Draw the jobs of every class of `profile` over `horizon` seconds (default: the profile's)."""
    spec = profile.spec
    horizon = spec.horizon if horizon is None else horizon
    resources: list[str] = [GPU_RESOURCE]
    teams: list[str] = []
    queues: list[str] = []
    classes: list[str] = []
    kinds: list[str] = []
    models: list[str] = []
    parts: list[dict[str, np.ndarray]] = []
    for job_class in spec.classes:
        times = _arrivals(job_class, horizon, rng)
        pods = job_class.pods
        if not job_class.gang and pods > 1:
            times, pods = np.repeat(times, pods), 1
        count = times.shape[0]
        cols = empty_columns(count)
        cols["arrival"][:] = times
        cols["work"][:] = _durations(job_class, count, rng)
        cols["pods"][:] = pods
        request = job_class.request
        if request.fraction is not None:
            cols["gpus"][:] = 1
            cols["milli"][:] = max(1, min(999, round(request.fraction * 1000)))
        else:
            assert request.resource is not None
            if request.resource not in resources:
                resources.append(request.resource)
            cols["gpus"][:] = request.count
            cols["resource"][:] = resources.index(request.resource)
        labels = (
            (teams, job_class.team, "team"),
            (queues, job_class.queue or job_class.team, "queue"),
            (kinds, job_class.kind, "kind"),
            (classes, job_class.name, "job_class"),
        )
        for values, name, column in labels:
            if name not in values:
                values.append(name)
            cols[column][:] = values.index(name)
        cols["priority"][:] = job_class.priority
        mask = 0
        for model in job_class.gpu_models:
            if model not in models:
                models.append(model)
            mask |= 1 << models.index(model)
        cols["model_mask"][:] = mask
        parts.append(cols)
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]} if parts else empty_columns(0)
    table = JobTable.from_columns(
        merged, resources=resources, teams=teams, queues=queues, classes=classes, kinds=kinds, models=models
    )
    return table.sorted_by_arrival()
