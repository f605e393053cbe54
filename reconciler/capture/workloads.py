"""From a Kueue Workload to a `WorkloadRecord`. With Kueue, a job's pods are only created once
the job is admitted, so the Workload's creation is the job's real submit time; it also names the
job's queue (LocalQueue) and priority, which the pods of a batch Job do not carry. Workloads are
joined to pods by their owner (the job's uid, as in `pods.job_identity`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.capture.pods import parse_time

KUEUE_API_VERSION = "kueue.x-k8s.io/v1beta1"


@dataclass(frozen=True)
class WorkloadRecord:
    owner_key: str  # uid of the job that owns the Workload
    queue: str
    priority: int | None
    created: float


def workload_record(obj: dict[str, Any]) -> WorkloadRecord | None:
    """The record of a Workload with a controlling owner, else None."""
    meta = obj.get("metadata") or {}
    owners = [o for o in meta.get("ownerReferences") or [] if isinstance(o, dict) and o.get("uid")]
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    created = parse_time(meta.get("creationTimestamp"))
    if owner is None or created is None:
        return None
    spec = obj.get("spec") or {}
    priority = spec.get("priority")
    return WorkloadRecord(
        owner_key=str(owner["uid"]),
        queue=str(spec.get("queueName") or ""),
        priority=priority if isinstance(priority, int) else None,
        created=created,
    )
