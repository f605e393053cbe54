"""gpuctl's own kinds (`apiVersion: gpuctl.dev/v1alpha1`): GPUNodePool, WorkloadProfile and
the repository settings file. They are never sent to the cluster: pools render into node
label patches and rollouts, profiles feed the simulator. Unknown fields are rejected."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.durations import Duration

API_VERSION = "gpuctl.dev/v1alpha1"
GPUCTL_GROUP = "gpuctl.dev"


class Strict(BaseModel):
    """Base for repository documents: camelCase fields, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ObjectMeta(Strict):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


# ------------------------------------------------------------------------ GPUNodePool


class LabelSelectorRequirement(Strict):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _values_match_operator(self) -> LabelSelectorRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs a non-empty values list")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self


class LabelSelector(Strict):
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list, alias="matchExpressions")

    def matches(self, labels: dict[str, str]) -> bool:
        """Kubernetes label-selector semantics (an empty selector matches everything)."""
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        for req in self.match_expressions:
            present = req.key in labels
            if req.operator == "In" and (not present or labels[req.key] not in req.values):
                return False
            if req.operator == "NotIn" and present and labels[req.key] in req.values:
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True

    def canonical(self) -> tuple[object, ...]:
        """A hashable normal form, to find two pools with the same selector."""
        return (
            tuple(sorted(self.match_labels.items())),
            tuple(sorted((r.key, r.operator, tuple(sorted(r.values))) for r in self.match_expressions)),
        )


class PoolGpu(Strict):
    model: str
    per_node: int = Field(alias="perNode", ge=1, le=16)


class PoolMig(Strict):
    config: str = "all-disabled"
    strategy: Literal["none", "single", "mixed"] = "none"


class PoolDevicePlugin(Strict):
    config: str


class Taint(Strict):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class PoolTopology(Strict):
    zone: str | None = None
    nodes_per_rack: int | None = Field(default=None, alias="nodesPerRack", ge=1)
    nvlink_domain_size: int | None = Field(default=None, alias="nvlinkDomainSize", ge=1)


class NodeResources(Strict):
    cpu: float = Field(default=64, gt=0, description="CPU cores per node")
    memory_gib: float = Field(default=512, gt=0, alias="memoryGiB")


_PERCENT = re.compile(r"^\d{1,3}%$")


class Rollout(Strict):
    max_unavailable: int | str = Field(default=1, alias="maxUnavailable")
    drain_timeout: Duration = Field(default=600.0, alias="drainTimeout")
    mig_timeout: Duration = Field(default=900.0, alias="migTimeout")
    on_failure: Literal["halt", "continue"] = Field(default="halt", alias="onFailure")

    @field_validator("max_unavailable")
    @classmethod
    def _count_or_percent(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            if value < 1:
                raise ValueError("maxUnavailable must be at least 1")
            return value
        if not _PERCENT.match(value) or not 0 < int(value[:-1]) <= 100:
            raise ValueError(f"maxUnavailable {value!r} must be a count or a percentage like '25%'")
        return value

    def max_unavailable_for(self, node_count: int) -> int:
        """Nodes that may be disrupted at once for a pool of `node_count` nodes (at least 1)."""
        if isinstance(self.max_unavailable, int):
            return self.max_unavailable
        return max(1, node_count * int(self.max_unavailable[:-1]) // 100)


class GPUNodePoolSpec(Strict):
    node_selector: LabelSelector = Field(alias="nodeSelector")
    gpu: PoolGpu
    nodes: int = Field(default=1, ge=0, description="expected node count (simulator, sandbox)")
    mig: PoolMig = Field(default_factory=PoolMig)
    device_plugin: PoolDevicePlugin | None = Field(default=None, alias="devicePlugin")
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    topology: PoolTopology = Field(default_factory=PoolTopology)
    node_resources: NodeResources = Field(default_factory=NodeResources, alias="nodeResources")
    rollout: Rollout = Field(default_factory=Rollout)


class GPUNodePool(Strict):
    api_version: Literal["gpuctl.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["GPUNodePool"]
    metadata: ObjectMeta
    spec: GPUNodePoolSpec


# ------------------------------------------------------------------------ WorkloadProfile


class PoissonArrival(Strict):
    process: Literal["poisson"]
    rate_per_hour: float = Field(alias="ratePerHour", gt=0)


class BurstArrival(Strict):
    process: Literal["bursts"]
    every: Duration
    size: int = Field(ge=1)
    jitter: Duration = 0.0


Arrival = Annotated[PoissonArrival | BurstArrival, Field(discriminator="process")]


class GpuRequest(Strict):
    """Per-pod GPU request: a whole-GPU or MIG resource with a count, or a shared fraction."""

    resource: str | None = None
    count: int = Field(default=1, ge=1)
    fraction: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _one_kind(self) -> GpuRequest:
        if (self.resource is None) == (self.fraction is None):
            raise ValueError("give either resource (with count) or fraction")
        if self.resource is not None and not self.resource.startswith("nvidia.com/"):
            raise ValueError(f"{self.resource!r} is not an nvidia.com GPU resource")
        return self


class LognormalDuration(Strict):
    distribution: Literal["lognormal"]
    median: Duration
    p90: Duration

    @model_validator(mode="after")
    def _ordered(self) -> LognormalDuration:
        if not 0 < self.median < self.p90:
            raise ValueError("lognormal needs 0 < median < p90")
        return self


class ExponentialDuration(Strict):
    distribution: Literal["exponential"]
    mean: Duration


class FixedDuration(Strict):
    distribution: Literal["fixed"]
    value: Duration


DurationDistribution = Annotated[
    LognormalDuration | ExponentialDuration | FixedDuration, Field(discriminator="distribution")
]


class JobClass(Strict):
    name: str
    team: str
    queue: str | None = None
    kind: Literal["training", "inference", "hpo", "notebook"]
    arrival: Arrival
    pods: int = Field(default=1, ge=1)
    gang: bool = True
    request: GpuRequest
    duration: DurationDistribution
    priority: int = 0
    gpu_models: list[str] = Field(default_factory=list, alias="gpuModels")


class TraceRef(Strict):
    file: str
    format: Literal["openb", "itp", "csv"]
    nodes: str | None = None


class WorkloadProfileSpec(Strict):
    horizon: Duration = 7 * 86400.0
    seed: int = 0
    classes: list[JobClass] = Field(default_factory=list)
    trace: TraceRef | None = None

    @model_validator(mode="after")
    def _classes_or_trace(self) -> WorkloadProfileSpec:
        if not self.classes and self.trace is None:
            raise ValueError("a WorkloadProfile needs job classes or a trace")
        return self


class WorkloadProfile(Strict):
    api_version: Literal["gpuctl.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["WorkloadProfile"]
    metadata: ObjectMeta
    spec: WorkloadProfileSpec


# ------------------------------------------------------------------------ gpuctl.yaml


class AllowList(Strict):
    namespaces: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)


class DiffIgnoreRule(Strict):
    kind: str
    group: str = ""
    name: str | None = None
    namespace: str | None = None
    json_pointers: list[str] = Field(default_factory=list, alias="jsonPointers")
    managers: list[str] = Field(default_factory=list)


class Limits(Strict):
    max_file_bytes: int = Field(default=1 << 20, alias="maxFileBytes", ge=1)
    max_documents: int = Field(default=20000, alias="maxDocuments", ge=1)
    max_depth: int = Field(default=64, alias="maxDepth", ge=2)
    max_alias_expansion: int = Field(default=10000, alias="maxAliasExpansion", ge=0)
    # A kustomize build of the revision (when its root is a kustomization) is stopped past these.
    kustomize_timeout_s: float = Field(default=60.0, alias="kustomizeTimeoutSeconds", gt=0)
    kustomize_max_output_bytes: int = Field(default=64 << 20, alias="kustomizeMaxOutputBytes", ge=1)


class CommitVerification(Strict):
    """Signed-commit policy (as Flux's GitRepository `spec.verify`): the commit a revision
    points at must carry a valid signature by one of `keys`."""

    mode: Literal["head"] = "head"
    keys: list[str] = Field(
        min_length=1,
        description="public keys, inline: ASCII-armored OpenPGP key blocks or OpenSSH public key lines",
    )


class RepoSettings(Strict):
    """`gpuctl.yaml` at the repository root (every field optional)."""

    api_version: Literal["gpuctl.dev/v1alpha1"] = Field(default="gpuctl.dev/v1alpha1", alias="apiVersion")
    kind: Literal["Settings"] = "Settings"
    cluster_name: str = Field(default="default", alias="clusterName")
    kubernetes_version: str = Field(default="1.33", alias="kubernetesVersion", pattern=r"^1\.\d+$")
    namespace: str = Field(default="gpuctl-system", description="where gpuctl keeps its inventory")
    ignore: list[str] = Field(default_factory=list, description="glob patterns of files to skip")
    allow: AllowList | None = None
    diff_ignore: list[DiffIgnoreRule] = Field(default_factory=list, alias="diffIgnore")
    limits: Limits = Field(default_factory=Limits)
    verify: CommitVerification | None = None
