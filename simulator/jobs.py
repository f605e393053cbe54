"""The workload as the simulator sees it: a table of jobs, one numpy array per column.

A job is a gang of `pods` identical pods that start together or not at all. Each pod asks for
CPU (millicores), memory (MiB) and either nothing on the GPU side (CPU-only), `gpus` whole
devices of one extended resource (`nvidia.com/gpu`, `nvidia.com/mig-3g.40gb`, ...), or a
fraction of one GPU (`milli` thousandths, openb's `gpu_milli`). `work` is the run time at
full speed on the requested resource. Columns instead of objects keep a million-job
workload small and let the loaders build it with vectorised numpy.

Produced by `simulator.traces`; consumed by the inflate and replay engines. No SimPy here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

GPU_RESOURCE = "nvidia.com/gpu"
WHOLE = 0  # `milli` value of a pod that asks for whole devices

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass
class JobTable:
    """Jobs in arrival order. `models` lists the GPU models a bit of `model_mask` stands for;
    a zero mask means any model. `teams`, `queues`, `kinds` and `resources` are the names behind
    ids; `job_class` is the workload class a job was drawn from (the profile's class name, the
    trace's QoS, ...); `queue` is the waiting queue a job joins (Kueue's queue; by default one per team)."""

    arrival: FloatArray
    work: FloatArray
    pods: IntArray
    gpus: IntArray
    milli: IntArray
    resource: IntArray
    cpu_milli: IntArray
    memory_mib: IntArray
    priority: IntArray
    team: IntArray
    queue: IntArray
    job_class: IntArray
    kind: IntArray
    model_mask: IntArray
    gpu_memory_mib: IntArray  # working set per device, 0 when not stated
    names: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=lambda: [GPU_RESOURCE])
    teams: list[str] = field(default_factory=lambda: ["default"])
    queues: list[str] = field(default_factory=lambda: ["default"])
    classes: list[str] = field(default_factory=lambda: ["default"])
    kinds: list[str] = field(default_factory=lambda: ["job"])
    models: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.arrival.shape[0])

    def gpu_request(self) -> FloatArray:
        """Whole-GPU equivalents each job asks for (pods × gpus, or pods × milli/1000)."""
        per_pod = np.where(self.milli > 0, self.milli / 1000.0, self.gpus.astype(np.float64))
        return per_pod * self.pods

    def name(self, index: int) -> str:
        """The job's name from its trace, or `job-<index>` when the trace has none."""
        return self.names[index] if self.names else f"job-{index}"

    def take(self, order: IntArray) -> JobTable:
        """The jobs at `order` (a permutation or a sample with repeats), names included."""
        names = [self.names[i] for i in order.tolist()] if self.names else []
        return JobTable(
            arrival=self.arrival[order],
            work=self.work[order],
            pods=self.pods[order],
            gpus=self.gpus[order],
            milli=self.milli[order],
            resource=self.resource[order],
            cpu_milli=self.cpu_milli[order],
            memory_mib=self.memory_mib[order],
            priority=self.priority[order],
            team=self.team[order],
            queue=self.queue[order],
            job_class=self.job_class[order],
            kind=self.kind[order],
            model_mask=self.model_mask[order],
            gpu_memory_mib=self.gpu_memory_mib[order],
            names=names,
            resources=list(self.resources),
            teams=list(self.teams),
            queues=list(self.queues),
            classes=list(self.classes),
            kinds=list(self.kinds),
            models=list(self.models),
        )

    @classmethod
    def from_columns(
        cls,
        cols: Mapping[str, npt.NDArray[Any]],
        *,
        names: list[str] | None = None,
        resources: list[str] | None = None,
        teams: list[str] | None = None,
        queues: list[str] | None = None,
        classes: list[str] | None = None,
        kinds: list[str] | None = None,
        models: list[str] | None = None,
    ) -> JobTable:
        """A table from the columns of `empty_columns` (cast to their dtypes) and name lists."""
        floats = {k: cols[k].astype(np.float64, copy=False) for k in ("arrival", "work")}
        ints = {k: cols[k].astype(np.int64, copy=False) for k in INT_COLUMNS}
        return cls(
            arrival=floats["arrival"],
            work=floats["work"],
            pods=ints["pods"],
            gpus=ints["gpus"],
            milli=ints["milli"],
            resource=ints["resource"],
            cpu_milli=ints["cpu_milli"],
            memory_mib=ints["memory_mib"],
            priority=ints["priority"],
            team=ints["team"],
            queue=ints["queue"],
            job_class=ints["job_class"],
            kind=ints["kind"],
            model_mask=ints["model_mask"],
            gpu_memory_mib=ints["gpu_memory_mib"],
            names=names or [],
            resources=resources or [GPU_RESOURCE],
            teams=teams or ["default"],
            queues=queues or ["default"],
            classes=classes or ["default"],
            kinds=kinds or ["job"],
            models=models or [],
        )

    def sorted_by_arrival(self) -> JobTable:
        return self.take(np.argsort(self.arrival, kind="stable"))


# Every column of a JobTable, in the one order loaders fill them in: floats, then integers.
FLOAT_COLUMNS = ("arrival", "work")
INT_COLUMNS = (
    "pods",
    "gpus",
    "milli",
    "resource",
    "cpu_milli",
    "memory_mib",
    "priority",
    "team",
    "queue",
    "job_class",
    "kind",
    "model_mask",
    "gpu_memory_mib",
)
COLUMNS = FLOAT_COLUMNS + INT_COLUMNS


def empty_columns(n: int) -> dict[str, npt.NDArray[Any]]:
    """Zeroed columns for `n` jobs (1 pod each), for loaders that fill them in place."""
    columns: dict[str, npt.NDArray[Any]] = {name: np.zeros(n, dtype=np.float64) for name in FLOAT_COLUMNS}
    columns.update({name: np.zeros(n, dtype=np.int64) for name in INT_COLUMNS})
    columns["pods"][:] = 1
    return columns


def workload_summary(jobs: JobTable, label: str) -> dict[str, Any]:
    """What a run's result says about its workload: where it came from and its size."""
    request = jobs.gpu_request()
    return {
        "source": label,
        "jobs": len(jobs),
        "pods": int(jobs.pods.sum()),
        "gpu_requested": float(request.sum()),
        "gpu_seconds": float((request * jobs.work).sum()),
        "cpu_only_jobs": int((request == 0).sum()),
        "sharing_jobs": int((jobs.milli > 0).sum()),
        "multi_pod_jobs": int((jobs.pods > 1).sum()),
    }
