"""Kueue-like admission quotas for `replay`, read from the desired state's Kueue objects.

Each `ClusterQueue` gives a nominal quota per extended resource (summed over its flavors) and
an optional borrowing limit; queues naming the same cohort (`spec.cohortName`, or the
deprecated `spec.cohort`) may borrow each other's unused nominal quota. A job's queue name is
a `LocalQueue` name; the LocalQueue points at its ClusterQueue. A job is admitted when, for
its resource, the ClusterQueue's usage plus the job's request stays within nominal quota plus
what it may borrow. Only `nvidia.com/*` resources are counted (CPU and memory quotas are not
modelled), and neither preemption nor lending limits are. No SimPy here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.desired import DesiredState
from simulator.errors import InputError
from simulator.jobs import JobTable

GPU_PREFIX = "nvidia.com/"


@dataclass
class ClusterQueueQuota:
    name: str
    cohort: str | None
    nominal: dict[str, int] = field(default_factory=dict)
    borrowing_limit: dict[str, int] = field(default_factory=dict)  # absent: unlimited


@dataclass
class QuotaSpec:
    """The ClusterQueues, and LocalQueue name → (namespace, ClusterQueue name) pairs."""

    cluster_queues: list[ClusterQueueQuota]
    local_queues: dict[str, list[tuple[str, str]]]


def _count(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InputError(f"quota {value!r} of an nvidia.com resource must be a whole number") from None


def quotas_from_state(state: DesiredState) -> QuotaSpec | None:
    """The Kueue quotas the desired state declares, or None when it declares no ClusterQueue."""
    queues: list[ClusterQueueQuota] = []
    local: dict[str, list[tuple[str, str]]] = {}
    for manifest in state.manifests:
        obj = manifest.obj
        if not str(obj.get("apiVersion", "")).startswith("kueue.x-k8s.io/"):
            continue
        spec = obj.get("spec") or {}
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "ClusterQueue":
            quota = ClusterQueueQuota(str(meta.get("name")), spec.get("cohortName") or spec.get("cohort"))
            for group in spec.get("resourceGroups") or []:
                for flavor in group.get("flavors") or []:
                    for resource in flavor.get("resources") or []:
                        name = str(resource.get("name", ""))
                        if not name.startswith(GPU_PREFIX):
                            continue
                        quota.nominal[name] = quota.nominal.get(name, 0) + _count(
                            resource.get("nominalQuota", 0)
                        )
                        if resource.get("borrowingLimit") is not None:
                            limit = _count(resource["borrowingLimit"])
                            quota.borrowing_limit[name] = quota.borrowing_limit.get(name, 0) + limit
            queues.append(quota)
        elif obj.get("kind") == "LocalQueue":
            pair = (str(meta.get("namespace", "")), str(spec.get("clusterQueue", "")))
            local.setdefault(str(meta.get("name")), []).append(pair)
    return QuotaSpec(queues, local) if queues else None


class QuotaBook:
    """Usage per ClusterQueue and resource while a replay runs."""

    def __init__(self, spec: QuotaSpec, jobs: JobTable) -> None:
        self.queues = spec.cluster_queues
        index = {q.name: i for i, q in enumerate(self.queues)}
        self.usage: list[dict[str, int]] = [dict.fromkeys(q.nominal, 0) for q in self.queues]
        queue_of_name = []
        for position, queue_name in enumerate(jobs.queues):
            targets = {cq for _, cq in spec.local_queues.get(queue_name, [])}
            if len(targets) > 1:  # several namespaces use this name: take the one of a team using it
                teams = {
                    jobs.teams[t]
                    for t, q in zip(jobs.team.tolist(), jobs.queue.tolist(), strict=True)
                    if q == position
                }
                targets = {cq for ns, cq in spec.local_queues[queue_name] if any(t in ns for t in teams)}
            queue_of_name.append(index.get(next(iter(sorted(targets))), -1) if targets else -1)
        self._queue = [queue_of_name[q] for q in jobs.queue.tolist()]
        self._resource = [jobs.resources[r] for r in jobs.resource.tolist()]
        self._amount = (jobs.pods * jobs.gpus).tolist()

    def _borrowable(self, queue: int, resource: str) -> int:
        """Unused nominal quota of the other queues of this queue's cohort."""
        cohort = self.queues[queue].cohort
        if cohort is None:
            return 0
        spare = 0
        for other, quota in enumerate(self.queues):
            if other != queue and quota.cohort == cohort and resource in quota.nominal:
                spare += max(0, quota.nominal[resource] - self.usage[other][resource])
        return spare

    def _limit(self, queue: int, resource: str) -> int:
        quota = self.queues[queue]
        borrow = self._borrowable(queue, resource)
        if resource in quota.borrowing_limit:
            borrow = min(borrow, quota.borrowing_limit[resource])
        return quota.nominal[resource] + borrow

    def governs(self, job: int) -> bool:
        queue = self._queue[job]
        return queue >= 0 and self._resource[job] in self.queues[queue].nominal

    def admits(self, job: int) -> bool:
        """Whether the job's ClusterQueue can take its request now."""
        if not self.governs(job):
            return True
        queue, resource = self._queue[job], self._resource[job]
        return bool(self.usage[queue][resource] + self._amount[job] <= self._limit(queue, resource))

    def charge(self, job: int, sign: int = 1) -> None:
        if self.governs(job):
            self.usage[self._queue[job]][self._resource[job]] += sign * self._amount[job]

    def never(self, job: int) -> str:
        """Why the job can never be admitted, even with the whole cohort idle; "" if it can."""
        if not self.governs(job):
            return ""
        queue, resource = self._queue[job], self._resource[job]
        quota = self.queues[queue]
        cohort_total = sum(
            q.nominal.get(resource, 0)
            for i, q in enumerate(self.queues)
            if i != queue and q.cohort and q.cohort == quota.cohort
        )
        borrow = min(cohort_total, quota.borrowing_limit.get(resource, cohort_total))
        most = quota.nominal[resource] + borrow
        if self._amount[job] > most:
            return f"needs {self._amount[job]} {resource}; ClusterQueue {quota.name} can admit at most {most}"
        return ""
