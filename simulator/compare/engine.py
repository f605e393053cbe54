"""The replay engine with what a base-vs-head comparison needs on top of the core engine:
nodes held out of service by the rollout, GPU held per pool over time, and each job's wait.

Rollout model: a node the change drains is unavailable from the start of the horizon until its
batch has been drained and reconfigured (`NodeOutage.end_s`). The simulator does not evict
running jobs, so a node is not handed work in the meantime that it would have to give up; this
makes the estimate of the rollout's cost an upper bound, like the timeouts it uses.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.cluster.spec import ClusterSpec
from simulator.cluster.state import PodRequest
from simulator.config import SimParameters
from simulator.engine.events import Event
from simulator.engine.replay import ReplayEngine
from simulator.jobs import FloatArray, JobTable
from simulator.metrics import JobState
from simulator.placement import Placement
from simulator.quotas import QuotaSpec
from simulator.rollout_cost import NodeOutage


@dataclass
class PoolUsage:
    """GPU milli held per pool, integrated over time (a `ReplayObserver`)."""

    node_pool: list[int]
    pool_names: list[str]
    capacity_milli: list[int]
    held: list[int] = field(default_factory=list)
    area: list[float] = field(default_factory=list)
    last: float = 0.0
    per_job: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # The comparison window [0, window] (the workload's horizon) and each pool's area in it,
    # taken when time first passes the window's end.
    window: float | None = None
    window_area: list[float] | None = None

    @classmethod
    def of(cls, spec: ClusterSpec) -> PoolUsage:
        names: list[str] = []
        node_pool = []
        for node_name in spec.node_names:
            pool = node_name.rsplit("-", 1)[0]
            if pool not in names:
                names.append(pool)
            node_pool.append(names.index(pool))
        capacity = [0] * len(names)
        for node, milli in enumerate(spec.device_capacity.sum(axis=1).tolist()):
            capacity[node_pool[node]] += milli
        return cls(node_pool, names, capacity, [0] * len(names), [0.0] * len(names))

    def _advance(self, now: float) -> None:
        elapsed = now - self.last
        if elapsed > 0:
            window = self.window
            if window is not None and self.window_area is None and self.last <= window <= now:
                self.window_area = [
                    a + milli * (window - self.last) for a, milli in zip(self.area, self.held, strict=True)
                ]
            for index, milli in enumerate(self.held):
                self.area[index] += milli * elapsed
            self.last = now

    def started(self, engine: ReplayEngine, job: int, placements: list[Placement]) -> None:
        self._advance(engine.env.now)
        req = engine.bound.request(job)
        cost = engine.state.cost
        taken = []
        for placement in placements:
            milli = sum(req.milli or int(cost[placement.node, slot]) for slot in placement.devices)
            pool = self.node_pool[placement.node]
            self.held[pool] += milli
            taken.append((pool, milli))
        self.per_job[job] = taken

    def finished(self, engine: ReplayEngine, job: int) -> None:
        self._advance(engine.env.now)
        for pool, milli in self.per_job.pop(job):
            self.held[pool] -= milli

    def window_allocation_pct(self, end: float) -> tuple[dict[str, float], float]:
        """Time-weighted GPU allocation over the window [0, `window`], per pool and for the
        whole cluster, in percent (after the run ended at `end`). Both sides of a comparison
        are measured over the same window, so doing the same work reads as the same allocation
        however long each side's last job ran on."""
        if self.window is None or self.window <= 0:
            raise ValueError("no comparison window set")
        self._advance(end)
        area = self.window_area if self.window_area is not None else self.area
        per_pool = {
            name: 100.0 * area[i] / (self.capacity_milli[i] * self.window) if self.capacity_milli[i] else 0.0
            for i, name in enumerate(self.pool_names)
        }
        capacity = sum(self.capacity_milli)
        cluster = 100.0 * sum(area) / (capacity * self.window) if capacity else 0.0
        return per_pool, cluster

    def allocation_pct(self, begin: float, end: float) -> dict[str, float]:
        """Time-weighted GPU allocation of each pool over [begin, end], in percent."""
        self._advance(end)
        span = end - begin
        return {
            name: 100.0 * self.area[i] / (self.capacity_milli[i] * span)
            if span > 0 and self.capacity_milli[i]
            else 0.0
            for i, name in enumerate(self.pool_names)
        }


class OutageReplayEngine(ReplayEngine):
    """A `ReplayEngine` whose listed nodes take no work until their outage ends."""

    def __init__(
        self,
        spec: ClusterSpec,
        jobs: JobTable,
        params: SimParameters,
        rng: np.random.Generator,
        *,
        outages: list[NodeOutage],
        quotas: QuotaSpec | None = None,
        window: float | None = None,
    ) -> None:
        self.usage = PoolUsage.of(spec)
        self.usage.window = window
        super().__init__(spec, jobs, params, rng, observer=self.usage, quotas=quotas)
        index = {name: i for i, name in enumerate(spec.node_names)}
        self._outages = [(index[o.node], o.end_s) for o in outages if o.node in index]
        self._held: dict[int, list[tuple[int, PodRequest]]] = {}

    def _hold(self, node: int) -> None:
        """Take every free device, CPU and memory of `node`, without counting it as allocation."""
        state = self.state
        taken: list[tuple[int, PodRequest]] = []
        before = state.allocated_milli
        for slot, kind in enumerate(state.spec.device_kind[node].tolist()):
            free = int(state.free[node, slot])
            if kind >= 0 and free > 0:
                req = PodRequest(int(state.spec.device_resource[node, slot]), 1, free, 0, 0, 0)
                state.allocate(node, [slot], req)
                taken.append((slot, req))
        rest = PodRequest(-1, 0, 0, int(state.cpu_free[node]), int(state.memory_free[node]), 0)
        state.allocate(node, [], rest)
        taken.append((-1, rest))
        state.allocated_milli = before
        self._held[node] = taken

    def _give_back(self, node: int) -> None:
        state = self.state
        taken = self._held.pop(node)
        state.allocated_milli += sum(req.milli for slot, req in taken if slot >= 0)
        for slot, req in taken:
            state.release(node, [slot] if slot >= 0 else [], req)
        for queue in self.queues:
            if len(queue):
                queue.drain(self._try_start)

    def _rollout(self) -> Generator[Event, Any, None]:
        for node, _end in self._outages:
            self._hold(node)
        for node, end in sorted(self._outages, key=lambda item: (item[1], item[0])):
            if end > self.env.now:
                yield self.env.timeout(end - self.env.now)
            self._give_back(node)

    def run(self) -> dict[str, Any]:
        if self._outages:
            self.env.process(self._rollout())
        return super().run()

    def count_by_team(self, state: JobState) -> dict[str, int]:
        """Jobs that ended in `state`, per team (after `run`)."""
        jobs = self.jobs
        ended = self.recorder.state == int(state)
        return {team: int((ended & (jobs.team == i)).sum()) for i, team in enumerate(jobs.teams)}

    def waits_by_team(self) -> dict[str, FloatArray]:
        """Queue wait of every completed job, per team (after `run`)."""
        jobs = self.jobs
        wait = self.recorder.start - self.recorder.arrival
        done = ~np.isnan(self.recorder.finish)
        return {
            team: wait[done & (jobs.team == i)]
            for i, team in enumerate(jobs.teams)
            if bool((done & (jobs.team == i)).any())
        }
