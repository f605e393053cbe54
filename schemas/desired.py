"""DesiredState: the one output of loading a repository revision, input to everything else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.deviceplugin import DevicePluginConfig
from schemas.diagnostics import SourceLocation
from schemas.kinds import GPUNodePool, RepoSettings, WorkloadProfile
from schemas.migconfig import MigPartedConfig
from schemas.refs import ObjectRef


@dataclass(frozen=True)
class Manifest:
    """A plain Kubernetes object from the repository, with where it was written."""

    obj: dict[str, Any]
    location: SourceLocation
    ref: ObjectRef
    # JSON pointer (e.g. "/spec/replicas") → where that value was written.
    positions: dict[str, SourceLocation] = field(default_factory=dict, compare=False)
    # JSON pointer of a literal block scalar (`|`) → where its text starts, so YAML embedded in a
    # ConfigMap value (mig-parted, device-plugin configs) is reported at its real line.
    block_starts: dict[str, SourceLocation] = field(default_factory=dict, compare=False)

    def position(self, pointer: str) -> SourceLocation:
        """The place of `pointer`, or of its nearest written parent, or of the document."""
        while pointer:
            if pointer in self.positions:
                return self.positions[pointer]
            pointer = pointer.rsplit("/", 1)[0]
        return self.location


@dataclass
class DesiredState:
    """A validated revision of the desired-state repository."""

    root: str
    revision: str | None
    settings: RepoSettings
    manifests: list[Manifest] = field(default_factory=list)
    pools: list[GPUNodePool] = field(default_factory=list)
    workloads: list[WorkloadProfile] = field(default_factory=list)
    # The mig-parted config from the repository's MIG manager ConfigMap, if any.
    mig_parted: MigPartedConfig | None = None
    # Device-plugin configs by ConfigMap key (the value of `nvidia.com/device-plugin.config`).
    device_plugin: dict[str, DevicePluginConfig] = field(default_factory=dict)
    # The ConfigMaps the GPU Operator reads (its MIG manager's and device plugin's configs),
    # found by validation; rendering applies them with the GPU Operator.
    gpu_operator_configs: set[ObjectRef] = field(default_factory=set)
    # Where each gpuctl-kind document was written, by ObjectRef.
    locations: dict[ObjectRef, SourceLocation] = field(default_factory=dict)
    # The tool that built the revision when it is a kustomization ("kubectl kustomize v5.5.0").
    built_with: str | None = None

    def pool(self, name: str) -> GPUNodePool:
        for pool in self.pools:
            if pool.metadata.name == name:
                return pool
        raise KeyError(name)
