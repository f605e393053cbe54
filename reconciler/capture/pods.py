"""From a Pod object to a `PodRecord`: its GPU request, the job it belongs to (its
controlling owner: Job, PyTorchJob, StatefulSet, ...; a RayCluster's pods are split by worker
group), its queue and priority, and its submit/start/end times and outcome. Pure functions over
the API's JSON; no personal data beyond object names is read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

GPU_PREFIXES = ("nvidia.com/gpu", "nvidia.com/mig-")
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
RAY_GROUP_LABEL = "ray.io/group"
# Where a pod without ownerReferences still names its job (set by the controllers themselves).
_JOB_NAME_LABELS = (
    ("Job", "batch.kubernetes.io/job-name"),
    ("Job", "job-name"),
    ("PyTorchJob", "training.kubeflow.org/job-name"),
    ("RayCluster", "ray.io/cluster"),
)


class Outcome:
    """A pod's (and a job's) state as recorded. Plain strings: they go into SQLite and CSV."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    DELETED = "Deleted"  # removed before it finished (preempted, cancelled, evicted)

    ENDED = (SUCCEEDED, FAILED, DELETED)


@dataclass(frozen=True)
class PodRecord:
    """One GPU pod as captured. Times are seconds since the epoch; `None` until they happen."""

    uid: str
    namespace: str
    name: str
    job_key: str  # stable identity of the job (owner uid, plus the Ray worker group)
    owner_key: str  # the owner alone (a Kueue Workload's owner), without the Ray group
    job_kind: str
    job_name: str
    resource: str
    per_pod: int
    queue: str
    priority: int
    node: str
    created: float
    started: float | None
    finished: float | None
    outcome: str

    def deleted(self, at: float) -> PodRecord:
        """The record of this pod once it vanished at `at` (an unfinished pod ends `Deleted`)."""
        if self.outcome in Outcome.ENDED:
            return self
        return replace(self, finished=at, outcome=Outcome.DELETED)


def parse_time(stamp: object) -> float | None:
    """RFC 3339 timestamp → epoch seconds (None for a missing or malformed value)."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


def _quantity(value: object) -> int:
    """Extended resources are integers; anything else (malformed) counts as 0."""
    try:
        return int(str(value))
    except ValueError:
        return 0


def gpu_request(pod: dict[str, Any]) -> tuple[str, int] | None:
    """(resource, count) of GPU devices one pod asks for, or None for a pod without GPUs.
    Containers add up; an init container counts only if it asks for more (as the scheduler)."""
    spec = pod.get("spec") or {}

    def totals(containers: list[dict[str, Any]], combine: Any) -> dict[str, int]:
        out: dict[str, int] = {}
        for container in containers or []:
            resources = container.get("resources") or {}
            asked = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
            for name, value in asked.items():
                if str(name).startswith(GPU_PREFIXES):
                    out[name] = combine(out.get(name, 0), _quantity(value))
        return out

    main = totals(spec.get("containers") or [], lambda a, b: a + b)
    for name, count in totals(spec.get("initContainers") or [], max).items():
        main[name] = max(main.get(name, 0), count)
    asked = {name: count for name, count in main.items() if count > 0}
    if not asked:
        return None
    name = max(sorted(asked), key=lambda n: asked[n])  # a pod asks for one kind of device in practice
    return name, asked[name]


def job_identity(pod: dict[str, Any]) -> tuple[str, str, str]:
    """(key, kind, name) of the job a pod belongs to: its controlling owner, split by Ray worker
    group; else the job-name labels the controllers set; else the pod itself."""
    key, kind, name, _ = _identity(pod)
    return key, kind, name


def _identity(pod: dict[str, Any]) -> tuple[str, str, str, str]:
    """(job key, kind, name, owner key)."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    namespace = str(meta.get("namespace") or "")
    owners = [o for o in meta.get("ownerReferences") or [] if isinstance(o, dict)]
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    if owner is not None:
        kind, name = str(owner.get("kind") or ""), str(owner.get("name") or "")
        key = str(owner.get("uid") or f"{namespace}/{kind}/{name}")
    else:
        for kind, label in _JOB_NAME_LABELS:
            if labels.get(label):
                name = str(labels[label])
                key = f"{namespace}/{kind}/{name}"
                break
        else:
            kind, name = "Pod", str(meta.get("name") or "")
            key = str(meta.get("uid") or f"{namespace}/Pod/{name}")
    if kind == "RayCluster":
        group = str(labels.get(RAY_GROUP_LABEL) or "headgroup")
        return f"{key}/{group}", kind, f"{name}/{group}", key
    return key, kind, name, key


def _container_times(status: dict[str, Any]) -> tuple[float | None, float | None]:
    """(first container running, last container finished) from the container statuses."""
    started: list[float] = []
    finished: list[float] = []
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        for phase in ("running", "terminated"):
            at = parse_time((state.get(phase) or {}).get("startedAt"))
            if at is not None:
                started.append(at)
        end = parse_time((state.get("terminated") or {}).get("finishedAt"))
        if end is not None:
            finished.append(end)
    return (min(started) if started else None), (max(finished) if finished else None)


def pod_record(pod: dict[str, Any]) -> PodRecord | None:
    """The record of a GPU pod, or None for a pod that asks for no GPU (or has no uid)."""
    request = gpu_request(pod)
    meta = pod.get("metadata") or {}
    created = parse_time(meta.get("creationTimestamp"))
    if request is None or not meta.get("uid") or created is None:
        return None
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    started, finished = _container_times(status)
    phase = str(status.get("phase") or Outcome.PENDING)
    if phase not in (Outcome.SUCCEEDED, Outcome.FAILED):
        finished = None
        phase = Outcome.RUNNING if started is not None else Outcome.PENDING
    elif finished is None:
        finished = started if started is not None else created
    key, kind, name, owner_key = _identity(pod)
    labels = meta.get("labels") or {}
    priority = spec.get("priority")
    return PodRecord(
        uid=str(meta["uid"]),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        job_key=key,
        owner_key=owner_key,
        job_kind=kind,
        job_name=name,
        resource=request[0],
        per_pod=request[1],
        queue=str(labels.get(QUEUE_LABEL) or ""),
        priority=priority if isinstance(priority, int) else 0,
        node=str(spec.get("nodeName") or ""),
        created=created,
        started=started,
        finished=finished,
        outcome=phase,
    )
