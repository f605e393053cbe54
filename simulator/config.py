"""The experiment: what to simulate (`SimConfig`: cluster and workload inputs plus
`SimParameters`) and the sharing performance model's parameters.

Defaults of `SharingModel` come from the GPU object-model reference, §7: MIG speed follows
the SM share with a per-kind saturation exponent (compute-bound training ≈ linear, small or
latency-bound work loses little on smaller slices); k busy tenants of a time-sliced GPU each
run at (1/k)·(1 − overhead), overhead ≈ 5 % for large kernels and ≈ 20 % for bandwidth-bound
ones; MPS caps a client's SM share at 1/replicas; while every MIG instance of a GPU is busy,
the board's power limit slows each by ≈ 5 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.desired import DesiredState
from schemas.kinds import WorkloadProfile
from simulator.cluster.spec import ClusterSpec
from simulator.jobs import JobTable
from simulator.quotas import QuotaSpec


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SharingModel(_Frozen):
    """How fast a job runs on a shared or partitioned GPU, relative to the whole GPU."""

    sm_exponent: float = Field(default=1.0, ge=0, description="MIG/MPS speed = SM share ** exponent")
    sm_exponent_by_kind: dict[str, float] = Field(default_factory=lambda: {"inference": 0.5, "notebook": 0.3})
    timeslice_overhead: float = Field(default=0.05, ge=0, lt=1)
    timeslice_overhead_by_kind: dict[str, float] = Field(default_factory=lambda: {"inference": 0.2})
    mig_power_throttle: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="slow-down of every MIG instance while all of its GPU's are busy",
    )
    oom_on_oversubscription: bool = Field(
        default=True, description="fail jobs whose stated GPU working set does not fit (see engine/memory.py)"
    )

    def exponent(self, kind: str) -> float:
        return self.sm_exponent_by_kind.get(kind, self.sm_exponent)

    def overhead(self, kind: str) -> float:
        return self.timeslice_overhead_by_kind.get(kind, self.timeslice_overhead)


QueueDiscipline = Literal["fifo", "priority", "best-effort-fifo"]


class SimParameters(_Frozen):
    """Every knob of one run; serialised into the result."""

    mode: Literal["replay", "inflate"] = "replay"
    policy: str = "k8s-default"
    seed: int = 0
    queue: QueueDiscipline = "fifo"
    inflate_target: float = Field(default=1.3, gt=0, description="arrived GPU ÷ capacity to stop at")
    inflate_step: float = Field(default=0.01, gt=0, description="record every this much arrived")
    inflate_order: Literal["reference", "draw"] = Field(
        default="reference",
        description="reference: the trace's pods shuffled, then clones drawn with replacement (the FGD "
        "reference simulator); draw: every pod drawn with replacement, then shuffled",
    )
    time_scale: float = Field(default=1.0, gt=0, description="multiply trace arrival times (compress < 1)")
    horizon: float | None = Field(default=None, gt=0, description="synthetic workload horizon, seconds")
    max_series_points: int = Field(default=2000, ge=10)
    sharing: SharingModel = Field(default_factory=SharingModel)


@dataclass
class SimConfig:
    """One experiment. `cluster` is a desired state or an already built spec; `workload` a
    job table or a WorkloadProfile to draw from with the run's generator. The labels say
    where the inputs came from (file paths, profile names) and go into the result."""

    cluster: ClusterSpec | DesiredState
    workload: JobTable | WorkloadProfile
    params: SimParameters
    cluster_label: str = ""
    workload_label: str = ""
    # Kueue quotas for replay; by default those of `cluster` when it is a desired state.
    quotas: QuotaSpec | None = None
