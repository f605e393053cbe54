"""`inflate` mode: the FGD evaluation protocol (ATC'23; steps in the shared traces README).

The offered pods reach `inflate_target` × cluster GPU capacity of summed GPU request. In the
`reference` order (the FGD reference simulator's workload tuning) the trace's own pods come
first, shuffled, then clones drawn uniformly with replacement, until the next clone's per-GPU
request would pass the goal; in the `draw` order every pod is drawn with replacement and the
lot shuffled. Pods are offered one at a time; a pod that fits nowhere fails, pods never
leave. After every `inflate_step` of capacity has arrived, the GPU allocation ratio and the
fragmentation are recorded. The headline figure at P % arrived is, as the reference's
analysis computes it, the mean allocation after every pod whose arrived share rounds to P %.
There is no time, so no SimPy: a plain loop over the offered pods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulator.cluster.spec import ClusterSpec
from simulator.cluster.state import ClusterState
from simulator.config import SimParameters
from simulator.errors import InputError
from simulator.jobs import FloatArray, IntArray, JobTable
from simulator.placement import FragmentationTracker, TargetWorkload, TieBreaker, make_policy
from simulator.progress import Progress, no_progress
from simulator.requests import BoundJobs, place_gang


@dataclass
class InflateOutcome:
    """The curve (one point per step of arrived capacity) and the pod counts."""

    arrived_pct: list[float] = field(default_factory=list)
    allocated_pct: list[float] = field(default_factory=list)
    fragmentation_amount_pct: list[float] = field(default_factory=list)
    fragmentation_rate_pct: list[float] = field(default_factory=list)
    offered: int = 0
    placed: int = 0
    failed: int = 0
    failed_gpu: float = 0.0
    # Per whole arrived percent: Σ allocated % (rounded to 0.01) after each pod, and the pod count.
    percent_sums: list[float] = field(default_factory=list)
    percent_counts: list[int] = field(default_factory=list)

    def unallocated_at(self, arrived_pct: float) -> float:
        """Unallocated GPU % at `arrived_pct`: the mean over the pods after which the arrived
        share rounded to it (else to a neighbouring percent), as the reference's analysis
        does; without per-pod figures, the recorded point nearest to it."""
        target = round(arrived_pct)
        for window in ((target,), (target - 1, target, target + 1)):
            picked = [p for p in window if 0 <= p < len(self.percent_counts) and self.percent_counts[p]]
            if picked:
                total = sum(self.percent_sums[p] for p in picked)
                return 100.0 - total / sum(self.percent_counts[p] for p in picked)
        index = int(np.argmin(np.abs(np.asarray(self.arrived_pct) - arrived_pct)))
        return 100.0 - self.allocated_pct[index]


def target_workload(jobs: JobTable, state: ClusterState) -> TargetWorkload:
    """The typical pod shapes of `jobs` (the FGD target workload)."""
    bound = BoundJobs(jobs, state)
    shapes = list(
        zip(
            jobs.cpu_milli.tolist(),
            jobs.gpus.tolist(),
            jobs.milli.tolist(),
            bound.model_mask.tolist(),
            strict=True,
        )
    )
    return TargetWorkload.from_shapes(shapes)


def offer_order(request: FloatArray, goal: float, rng: np.random.Generator) -> IntArray:
    """Job indexes drawn uniformly with replacement until their summed GPU request reaches
    `goal`, then shuffled (protocol step 2)."""
    chosen: list[int] = []
    total = 0.0
    batch = max(16, int(goal / max(float(request.mean()), 1e-9) * 1.1))
    while total < goal:
        draws = rng.integers(request.shape[0], size=batch)
        cumulative = total + np.cumsum(request[draws])
        stop = int(np.searchsorted(cumulative, goal, side="left"))
        if stop < batch:
            chosen.extend(draws[: stop + 1].tolist())
            break
        chosen.extend(draws.tolist())
        total = float(cumulative[-1])
    order = np.asarray(chosen, dtype=np.int64)
    rng.shuffle(order)
    return order


def reference_order(
    request: FloatArray, per_gpu: FloatArray, goal: float, rng: np.random.Generator
) -> IntArray:
    """The trace's jobs shuffled, then clones drawn uniformly with replacement while the next
    one's per-GPU request (`per_gpu`) still fits under `goal`; if the trace alone passes the
    goal, random jobs are dropped until it does not (the reference's workload tuning)."""
    order = rng.permutation(request.shape[0]).astype(np.int64)
    total = float(request.sum())
    if total > goal:
        kept = order.tolist()
        while total > goal and kept:
            total -= float(request[kept.pop(int(rng.integers(len(kept))))])
        return np.asarray(kept, dtype=np.int64)
    clones: list[IntArray] = [order]
    batch = max(16, int((goal - total) / max(float(request.mean()), 1e-9) * 1.1))
    while True:
        draws = rng.integers(request.shape[0], size=batch)
        before = total + np.concatenate(([0.0], np.cumsum(request[draws])[:-1]))
        over = np.flatnonzero(before + per_gpu[draws] > goal + 1e-9)
        if over.shape[0]:
            clones.append(draws[: int(over[0])])
            break
        clones.append(draws)
        total = float(before[-1] + request[draws[-1]])
    return np.concatenate(clones).astype(np.int64)


class _Recorder:
    """Writes a curve point each time arrived GPU crosses the next step of capacity."""

    def __init__(self, state: ClusterState, tracker: FragmentationTracker, params: SimParameters) -> None:
        self.state = state
        self.tracker = tracker
        self.step = params.inflate_step
        capacity = float(state.spec.total_gpus)
        steps = math.floor(params.inflate_target / params.inflate_step + 1e-9)
        self.thresholds = [k * params.inflate_step * capacity for k in range(steps + 1)]
        self.next_mark = 0
        self.outcome = InflateOutcome()
        buckets = math.floor(100.0 * params.inflate_target) + 2
        self.outcome.percent_sums = [0.0] * buckets
        self.outcome.percent_counts = [0] * buckets
        self._to_pct = 100.0 / capacity
        self._alloc_pct = 100.0 / state.spec.total_milli

    def after_pod(self, arrived: float) -> None:
        """Add the allocation after one offered pod to its arrived percent's mean."""
        bucket = round(arrived * self._to_pct)
        if bucket < len(self.outcome.percent_counts):
            self.outcome.percent_sums[bucket] += round(self.state.allocated_milli * self._alloc_pct, 2)
            self.outcome.percent_counts[bucket] += 1

    def record_until(self, arrived: float) -> None:
        outcome, state = self.outcome, self.state
        while self.next_mark < len(self.thresholds) and self.thresholds[self.next_mark] <= arrived + 1e-9:
            amount, rate = self.tracker.totals()
            outcome.arrived_pct.append(round(100.0 * self.next_mark * self.step, 6))
            outcome.allocated_pct.append(100.0 * state.allocated_milli / state.spec.total_milli)
            outcome.fragmentation_amount_pct.append(100.0 * amount)
            outcome.fragmentation_rate_pct.append(100.0 * rate)
            self.next_mark += 1


def inflate(
    spec: ClusterSpec,
    jobs: JobTable,
    params: SimParameters,
    rng: np.random.Generator,
    progress: Progress = no_progress,
) -> InflateOutcome:
    """Run the protocol once with `rng` and return the recorded curve."""
    if spec.total_gpus <= 0:
        raise InputError("the cluster has no GPUs; inflate measures GPU allocation")
    request = jobs.gpu_request()
    if not (request > 0).any():
        raise InputError("no job asks for a GPU; inflate cannot reach any arrived GPU capacity")
    state = ClusterState(spec)
    target = target_workload(jobs, state)
    policy = make_policy(params.policy, target)
    recorder = _Recorder(state, FragmentationTracker(state, target), params)
    outcome = recorder.outcome
    goal = params.inflate_target * spec.total_gpus
    if params.inflate_order == "reference":
        per_gpu = np.where(jobs.milli > 0, jobs.milli / 1000.0, (jobs.gpus > 0).astype(np.float64))
        order = reference_order(request, per_gpu, goal, rng)
    else:
        order = offer_order(request, goal, rng)
    ties = TieBreaker(rng)

    bound = BoundJobs(jobs, state)
    pods = jobs.pods.tolist()
    requests = request.tolist()
    arrived = 0.0
    recorder.record_until(0.0)
    for position, index in enumerate(order.tolist()):
        outcome.offered += 1
        if place_gang(state, policy, bound.request(index), pods[index], ties) is None:
            outcome.failed += 1
            outcome.failed_gpu += requests[index]
        else:
            outcome.placed += 1
        arrived += requests[index]
        recorder.after_pod(arrived)
        recorder.record_until(arrived)
        if position % 512 == 0:
            progress(arrived, goal)
    recorder.record_until(goal)
    progress(goal, goal)
    return outcome
