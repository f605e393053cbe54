"""`replay` mode: jobs arrive at their times, wait in their queue (one per Kueue queue, by
default one per team), start as gangs when the placement policy finds room for every pod, run,
and leave. After a departure every queue is offered the freed capacity, in a fixed order.

SimPy drives time. One process feeds arrivals; a job whose pace cannot change (whole GPUs,
MPS replicas, MIG instances of unshared GPUs) finishes by a single timeout; a job on a
time-sliced GPU or a MIG instance runs as a process whose pace changes whenever a co-tenant
(or a sibling instance's job, through the power throttle) starts or leaves:
the engine settles the work done so far and interrupts it, and the process waits again for
its remaining work at the new pace (processor sharing, no time stepping).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

import numpy as np
import simpy

from simulator.cluster.spec import ClusterSpec
from simulator.cluster.state import ClusterState, PodRequest
from simulator.config import SimParameters
from simulator.engine.memory import DeviceMemory
from simulator.engine.queues import make_queue
from simulator.engine.sharing import Group, SpeedModel
from simulator.inflate import target_workload
from simulator.jobs import JobTable
from simulator.metrics import JobState, ReplayRecorder
from simulator.placement import FragmentationTracker, Placement, TieBreaker, make_policy
from simulator.progress import Progress, no_progress
from simulator.quotas import QuotaBook, QuotaSpec
from simulator.requests import BoundJobs, never_fits, place_gang

Device = tuple[int, int]
RUNNING, COMPLETED = int(JobState.RUNNING), int(JobState.COMPLETED)  # plain ints: cheaper to store


class ReplayObserver(Protocol):
    """Told about every job start and finish (tests use it to check invariants as they happen)."""

    def started(self, engine: ReplayEngine, job: int, placements: list[Placement]) -> None: ...

    def finished(self, engine: ReplayEngine, job: int) -> None: ...


class ReplayEngine:
    """One replay of `jobs` on a fresh cluster of `spec`."""

    def __init__(
        self,
        spec: ClusterSpec,
        jobs: JobTable,
        params: SimParameters,
        rng: np.random.Generator,
        *,
        progress: Progress = no_progress,
        observer: ReplayObserver | None = None,
        quotas: QuotaSpec | None = None,
    ) -> None:
        if len(jobs) and bool(np.any(np.diff(jobs.arrival) < 0)):
            jobs = jobs.sorted_by_arrival()  # job indexes below are positions in arrival order
        self.env = simpy.Environment()
        self.observer = observer
        self.quotas = QuotaBook(quotas, jobs) if quotas is not None else None
        memory_stated = params.sharing.oom_on_oversubscription and bool(jobs.gpu_memory_mib.any())
        self.memory = DeviceMemory(spec, jobs.gpu_memory_mib.tolist()) if memory_stated else None
        self.params = params
        self.ties = TieBreaker(rng)
        self.progress = progress
        self.jobs = jobs
        self.state = ClusterState(spec)
        self._empty = ClusterState(spec)
        self.bound = BoundJobs(jobs, self.state)
        target = target_workload(jobs, self.state)
        self.policy = make_policy(params.policy, target)
        self.tracker = FragmentationTracker(self.state, target)
        self.speed = SpeedModel(self.state, params.sharing, jobs.kinds)
        arrivals = jobs.arrival * params.time_scale
        self.recorder = ReplayRecorder(jobs, spec.total_milli, arrivals)
        self._pods = jobs.pods.tolist()
        self._work = jobs.work.tolist()
        self._kind = jobs.kind.tolist()
        self._priority = jobs.priority.tolist()
        # One waiting queue per Kueue queue: a blocked head only holds back its own queue.
        self.queues = [make_queue(params.queue, self._shape_of) for _ in range(max(1, len(jobs.queues)))]
        self._queue_of = jobs.queue.tolist()
        self._never: dict[tuple[int, int], str] = {}
        # Nodes where every device runs a job at full speed whatever its neighbours do.
        self._full_speed = [
            dedicated and bool(np.all(share[kind >= 0] == 1.0)) and not self.speed.node_has_groups(node)
            for node, (dedicated, share, kind) in enumerate(
                zip(self.state.dedicated_node, spec.sm_share, spec.device_kind, strict=True)
            )
        ]
        self._placements: dict[int, list[Placement]] = {}
        # Processor sharing in interference groups (time-sliced GPUs, busy MIG GPUs): who runs
        # there, and each job's progress.
        self._tenants: dict[Group, set[int]] = {}
        self._remaining: dict[int, float] = {}
        self._pace: dict[int, float] = {}
        self._since: dict[int, float] = {}
        self._waiting: dict[int, simpy.Process] = {}
        self._arrivals_s = arrivals.tolist()
        span = float(arrivals[-1] - arrivals[0]) if len(jobs) else 0.0
        self._sample_every = span / params.max_series_points if span > 0 else float("inf")
        self._next_sample = float(arrivals[0]) if len(jobs) else 0.0

    def _shape_of(self, job: int) -> tuple[Any, ...]:
        return (*self.bound.request(job).shape, self._pods[job])

    # ------------------------------------------------------------------ run

    def run(self) -> dict[str, Any]:
        """Simulate until every job has finished or been rejected; return the metrics summary."""
        self.env.process(self._feed())
        self.env.run()
        self._sample(force=True)
        self.progress(1.0, 1.0)
        return self.recorder.summary(self.env.now, self.params.max_series_points)

    def _feed(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        total = len(self._arrivals_s)
        for job, at in enumerate(self._arrivals_s):
            if at > env.now:
                yield env.timeout(at - env.now)
            self._arrive(job)
            if job % 4096 == 0:
                self.progress(job, total)

    def _never_fits(self, job: int) -> str:
        """Why the job can never run here ("" if it can), computed once per request shape."""
        key = (self.bound.shape_index[job], self._pods[job])
        reason = self._never.get(key)
        if reason is None:
            req = self.bound.request(job)
            res = self.jobs.resources[self.jobs.resource[job]]
            reason = never_fits(self.state.spec, self._empty, req, self._pods[job], res)
            self._never[key] = reason
        if not reason and self.quotas is not None:
            return self.quotas.never(job)
        return reason

    def _arrive(self, job: int) -> None:
        reason = self._never_fits(job)
        if reason:
            self.recorder.unschedulable(job, reason)
            return
        queue = self.queues[self._queue_of[job]]
        if self.params.queue == "priority":
            queue.push(job, self._priority[job])
            queue.drain(self._try_start)
        elif (self.params.queue == "best-effort-fifo" or not len(queue)) and self._try_start(job):
            pass
        else:
            queue.push(job, self._priority[job])
        self._sample()

    def _sample(self, force: bool = False) -> None:
        now = self.env.now
        if force or now >= self._next_sample:
            amount, rate = self.tracker.totals()
            self.recorder.fragmentation(now, amount, rate)
            self._next_sample = now + self._sample_every

    # ------------------------------------------------------------------ start and finish

    def _try_start(self, job: int) -> bool:
        req = self.bound.request(job)
        pods = self._pods[job]
        if req.gpus and not req.milli and self.state.whole_free_total[req.resource] < req.gpus * pods:
            return False
        if self.quotas is not None and not self.quotas.admits(job):
            return False
        before = self.state.allocated_milli
        placements = place_gang(self.state, self.policy, req, pods, self.ties)
        if placements is None:
            return False
        now = self.env.now
        failure = self.memory.take(job, placements) if self.memory is not None else ""
        if failure:  # the job starts and dies at once: it frees what it took and leaves
            self._release(placements, req)
            self.recorder.start[job] = now
            self.recorder.failed(job, now, failure)
            return True
        held = self.state.allocated_milli - before
        if self.quotas is not None:
            self.quotas.charge(job)
        self.recorder.held_milli[job] = held
        self._placements[job] = placements
        self.recorder.start[job] = now
        self.recorder.state[job] = RUNNING
        self.recorder.allocation(now, self.state.allocated_milli)
        if self.observer is not None:
            self.observer.started(self, job, placements)
        if self._full_speed and all(self._full_speed[p.node] for p in placements):
            self.env.timeout(self._work[job]).callbacks.append(lambda _event: self._finish(job))
            return True
        devices = [(p.node, slot) for p in placements for slot in p.devices]
        shared = self._groups(devices)
        if not shared:
            pace = self.speed.speed(self._kind[job], devices)
            self.env.timeout(self._work[job] / pace).callbacks.append(lambda _event: self._finish(job))
            return True
        affected = self._join(job, shared)
        self._remaining[job] = self._work[job]
        self._since[job] = now
        self._pace[job] = self.speed.speed(self._kind[job], devices)
        self._repace(affected)
        self.env.process(self._run_shared(job, devices))
        return True

    def _release(self, placements: list[Placement], req: PodRequest) -> None:
        for placement in placements:
            self.state.release(placement.node, placement.devices, req)
            self.policy.placed(self.state, placement.node, req, -1)

    def _finish(self, job: int) -> None:
        req = self.bound.request(job)
        placements = self._placements.pop(job)
        self._release(placements, req)
        if self.memory is not None:
            self.memory.give_back(job)
        now = self.env.now
        self.recorder.finish[job] = now
        self.recorder.state[job] = COMPLETED
        self.recorder.allocation(now, self.state.allocated_milli)
        if self.quotas is not None:
            self.quotas.charge(job, -1)
        if self.observer is not None:
            self.observer.finished(self, job)
        if self._pace and job in self._pace:
            devices = [(p.node, s) for p in placements for s in p.devices]
            affected = self._leave(job, self._groups(devices))
            for table in (self._remaining, self._pace, self._since):
                del table[job]
            self._repace(affected)
        for queue in self.queues:
            if len(queue):
                queue.drain(self._try_start)
        self._sample()

    # ------------------------------------------------------------------ processor sharing

    def _groups(self, devices: list[Device]) -> list[Group]:
        """The interference groups of a job's devices, each once."""
        groups = (self.speed.group(*device) for device in devices)
        return list(dict.fromkeys(g for g in groups if g is not None))

    def _join(self, job: int, shared: list[Group]) -> set[int]:
        affected: set[int] = set()
        for device in shared:
            tenants = self._tenants.setdefault(device, set())
            affected |= tenants
            tenants.add(job)
        return affected

    def _leave(self, job: int, shared: list[Group]) -> set[int]:
        affected: set[int] = set()
        for device in shared:
            tenants = self._tenants[device]
            tenants.discard(job)
            affected |= tenants
        return affected

    def _repace(self, jobs: set[int]) -> None:
        """Settle the work `jobs` did at their old pace, give them their new pace, wake them."""
        now = self.env.now
        for other in sorted(jobs):
            self._remaining[other] -= (now - self._since[other]) * self._pace[other]
            self._since[other] = now
            devices = [(p.node, s) for p in self._placements[other] for s in p.devices]
            self._pace[other] = self.speed.speed(self._kind[other], devices)
            process = self._waiting.pop(other, None)
            if process is not None:
                process.interrupt("pace changed")

    def _run_shared(self, job: int, devices: list[Device]) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            self._waiting[job] = env.active_process  # type: ignore[assignment]
            try:
                yield env.timeout(max(self._remaining[job], 0.0) / self._pace[job])
            except simpy.Interrupt:
                continue
            self._waiting.pop(job, None)
            break
        self._finish(job)
