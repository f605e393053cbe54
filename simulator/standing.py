"""Standing workloads: GPU pods declared in the repository that run all the time, so they hold
their devices for the whole simulated horizon.

- RayCluster: each worker group is a gang of `replicas × numOfHosts` pods (the head pod asks
  for no GPU and is left out).
- Kubeflow training jobs (PyTorchJob, TFJob, MPIJob, … any `spec.*ReplicaSpecs`): each
  replica type is a gang of `replicas` pods (types with different requests are separate gangs).

A pod's request is the sum over its containers of `requests`, each resource defaulting to its
`limits` (as Kubernetes does). The team is the namespace's `gpuctl.dev/team` label, else the
namespace. A standing workload joins its Kueue queue (label `kueue.x-k8s.io/queue-name`, so it
is charged against that queue's quota), else a queue of its own; it arrives at time 0, before
every other job, with the highest priority, and works for the horizon. If a state cannot hold
it, it is counted unschedulable with the reason, like any job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from schemas.desired import DesiredState
from simulator.errors import SimulatorError
from simulator.jobs import JobTable, empty_columns

TEAM_LABEL = "gpuctl.dev/team"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
STANDING_KIND = "standing"
STANDING_PRIORITY = 1 << 40
_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50,
}  # fmt: skip


class StandingError(ValueError, SimulatorError):
    """A standing workload's manifest cannot be read as pods (terminal: fix the manifest)."""


def parse_quantity(value: object) -> float:
    """A Kubernetes quantity (`4`, `500m`, `64Gi`, `1e3`) as a number of base units."""
    match = _QUANTITY.match(str(value).strip())
    if match is None or match.group(2) not in _SUFFIX:
        raise StandingError(f"{value!r} is not a Kubernetes quantity (like 4, 500m or 64Gi)")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


@dataclass(frozen=True)
class StandingWorkload:
    """A gang of identical pods that runs for the whole horizon."""

    source: str  # Kind/namespace/name[/group]
    team: str
    queue: str | None  # the Kueue LocalQueue (label kueue.x-k8s.io/queue-name), if any
    pods: int
    resource: str
    gpus: int
    cpu_milli: int
    memory_mib: int


def _pod_request(template: Any, source: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    containers = (template or {}).get("spec", {}).get("containers") or []
    if not isinstance(containers, list):
        raise StandingError(f"{source}: spec.template.spec.containers must be a list")
    for container in containers:
        resources = (container or {}).get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name, quantity in merged.items():
            totals[str(name)] = totals.get(str(name), 0.0) + parse_quantity(quantity)
    return totals


def _gang(source: str, team: str, queue: str | None, pods: int, template: Any) -> StandingWorkload | None:
    request = _pod_request(template, source)
    gpu = sorted(name for name, count in request.items() if name.startswith("nvidia.com/") and count > 0)
    if pods <= 0 or not gpu:
        return None
    if len(gpu) > 1:
        raise StandingError(f"{source}: a pod asks for several GPU resources ({', '.join(gpu)})")
    return StandingWorkload(
        source=source,
        team=team,
        queue=queue,
        pods=pods,
        resource=gpu[0],
        gpus=round(request[gpu[0]]),
        cpu_milli=round(request.get("cpu", 0.0) * 1000),
        memory_mib=round(request.get("memory", 0.0) / 2**20),
    )


def _teams(state: DesiredState) -> dict[str, str]:
    teams = {}
    for manifest in state.manifests:
        if manifest.obj.get("kind") == "Namespace" and manifest.obj.get("apiVersion") == "v1":
            meta = manifest.obj.get("metadata") or {}
            label = (meta.get("labels") or {}).get(TEAM_LABEL)
            if label:
                teams[str(meta.get("name"))] = str(label)
    return teams


def _int(value: Any, default: int, where: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise StandingError(f"{where} must be an integer, got {value!r}")
    return value


def standing_workloads(state: DesiredState) -> list[StandingWorkload]:
    """Every GPU gang of the RayClusters and Kubeflow training jobs in `state`."""
    teams = _teams(state)
    found: list[StandingWorkload | None] = []
    for manifest in state.manifests:
        obj, ref = manifest.obj, manifest.ref
        spec = obj.get("spec") or {}
        namespace = ref.namespace or "default"
        team = teams.get(namespace, namespace)
        base = f"{ref.kind}/{namespace}/{ref.name}"
        labels = (obj.get("metadata") or {}).get("labels") or {}
        queue = str(labels[QUEUE_LABEL]) if labels.get(QUEUE_LABEL) else None
        if ref.kind == "RayCluster" and str(obj.get("apiVersion", "")).startswith("ray.io/"):
            for group in spec.get("workerGroupSpecs") or []:
                where = f"{base}/{group.get('groupName', '?')}"
                pods = _int(group.get("replicas"), 0, f"{where}: replicas") * _int(
                    group.get("numOfHosts"), 1, f"{where}: numOfHosts"
                )
                found.append(_gang(where, team, queue, pods, group.get("template")))
        elif str(obj.get("apiVersion", "")).startswith("kubeflow.org/"):
            for key, replica_specs in spec.items():
                if not key.endswith("ReplicaSpecs") or not isinstance(replica_specs, dict):
                    continue
                for replica_type, replica in replica_specs.items():
                    where = f"{base}/{replica_type}"
                    pods = _int((replica or {}).get("replicas"), 1, f"{where}: replicas")
                    found.append(_gang(where, team, queue, pods, (replica or {}).get("template")))
    return [w for w in found if w is not None]


def standing_table(workloads: list[StandingWorkload], horizon: float) -> JobTable:
    """The standing workloads as jobs arriving at 0 that work for `horizon` seconds."""
    cols = empty_columns(len(workloads))
    resources: list[str] = []
    teams: list[str] = []
    queues: list[str] = []
    for index, work in enumerate(workloads):
        queue = work.queue or f"standing:{work.source}"
        resources += [work.resource] if work.resource not in resources else []
        teams += [work.team] if work.team not in teams else []
        queues += [queue] if queue not in queues else []
        cols["work"][index] = horizon
        cols["pods"][index] = work.pods
        cols["gpus"][index] = work.gpus
        cols["resource"][index] = resources.index(work.resource)
        cols["cpu_milli"][index] = work.cpu_milli
        cols["memory_mib"][index] = work.memory_mib
        cols["team"][index] = teams.index(work.team)
        cols["queue"][index] = queues.index(queue)
        cols["job_class"][index] = index
    cols["priority"][:] = STANDING_PRIORITY
    return JobTable.from_columns(
        cols,
        names=[w.source for w in workloads],
        resources=resources,
        teams=teams,
        queues=queues,
        classes=[w.source for w in workloads],
        kinds=[STANDING_KIND],
    )


def _remap(ids: np.ndarray, names: list[str], union: list[str]) -> np.ndarray:
    table = np.array([union.index(n) for n in names] or [0], dtype=np.int64)
    return table[ids] if ids.shape[0] else ids


def concat_tables(first: JobTable, second: JobTable) -> JobTable:
    """`first`'s jobs then `second`'s, with their name lists merged (ids remapped)."""
    lists: dict[str, list[str]] = {}
    cols: dict[str, np.ndarray] = {}
    for column, attr in (
        ("resource", "resources"),
        ("team", "teams"),
        ("queue", "queues"),
        ("job_class", "classes"),
        ("kind", "kinds"),
    ):
        union = list(getattr(first, attr))
        union += [n for n in getattr(second, attr) if n not in union]
        lists[attr] = union
        cols[column] = np.concatenate(
            [
                _remap(getattr(first, column), getattr(first, attr), union),
                _remap(getattr(second, column), getattr(second, attr), union),
            ]
        )
    models = list(first.models) + [m for m in second.models if m not in first.models]
    masks = [first.model_mask]
    second_mask = np.zeros_like(second.model_mask)
    for bit, model in enumerate(second.models):
        second_mask |= np.where((second.model_mask >> bit) & 1, 1 << models.index(model), 0)
    masks.append(second_mask)
    cols["model_mask"] = np.concatenate(masks)
    for column in empty_columns(0):  # every other column is plain numbers: stack them
        if column not in cols:
            cols[column] = np.concatenate([getattr(first, column), getattr(second, column)])
    names = [first.name(i) for i in range(len(first))] + [second.name(i) for i in range(len(second))]
    return JobTable.from_columns(cols, names=names, models=models, **lists)
