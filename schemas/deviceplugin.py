"""NVIDIA device-plugin configuration (one key of the device-plugin ConfigMap).

Stricter than the plugin itself: the plugin parses with non-strict YAML and silently ignores
unknown keys (a per-resource `selector`, `renameByDefault` under `flags`), ignores a custom
`rename`, and forces `devices` to `all`. Here unknown keys are errors; the semantic rules
(rename, devices, MPS limits) are reported by validation with their own rule ids.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class PluginFlags(_Strict):
    fail_on_init_error: bool | None = Field(default=None, alias="failOnInitError")
    nvidia_driver_root: str | None = Field(default=None, alias="nvidiaDriverRoot")
    nvidia_dev_root: str | None = Field(default=None, alias="nvidiaDevRoot")
    pass_device_specs: bool | None = Field(default=None, alias="passDeviceSpecs")
    device_list_strategy: str | list[str] | None = Field(default=None, alias="deviceListStrategy")
    device_id_strategy: Literal["uuid", "index"] | None = Field(default=None, alias="deviceIDStrategy")
    cdi_annotation_prefix: str | None = Field(default=None, alias="cdiAnnotationPrefix")
    nvidia_ctk_path: str | None = Field(default=None, alias="nvidiaCTKPath")
    container_driver_root: str | None = Field(default=None, alias="containerDriverRoot")
    shared_devices_allocation_policy: Literal["distributed", "packed"] | None = Field(
        default=None, alias="sharedDevicesAllocationPolicy"
    )


class GfdFlags(_Strict):
    oneshot: bool | None = None
    no_timestamp: bool | None = Field(default=None, alias="noTimestamp")
    sleep_interval: str | None = Field(default=None, alias="sleepInterval")
    output_file: str | None = Field(default=None, alias="outputFile")
    machine_type_file: str | None = Field(default=None, alias="machineTypeFile")


class Flags(_Strict):
    mig_strategy: Literal["none", "single", "mixed"] | None = Field(default=None, alias="migStrategy")
    fail_on_init_error: bool | None = Field(default=None, alias="failOnInitError")
    mps_root: str | None = Field(default=None, alias="mpsRoot")
    nvidia_driver_root: str | None = Field(default=None, alias="nvidiaDriverRoot")
    nvidia_dev_root: str | None = Field(default=None, alias="nvidiaDevRoot")
    gdrcopy_enabled: bool | None = Field(default=None, alias="gdrcopyEnabled")
    gds_enabled: bool | None = Field(default=None, alias="gdsEnabled")
    mofed_enabled: bool | None = Field(default=None, alias="mofedEnabled")
    use_node_feature_api: bool | None = Field(default=None, alias="useNodeFeatureAPI")
    device_discovery_strategy: Literal["auto", "nvml", "tegra"] | None = Field(
        default=None, alias="deviceDiscoveryStrategy"
    )
    plugin: PluginFlags | None = None
    gfd: GfdFlags | None = None


class ReplicatedResource(_Strict):
    name: str
    rename: str | None = None
    devices: str | int | list[int | str] | None = None
    replicas: int


class ReplicatedResources(_Strict):
    rename_by_default: bool = Field(default=False, alias="renameByDefault")
    fail_requests_greater_than_one: bool | None = Field(default=None, alias="failRequestsGreaterThanOne")
    resources: list[ReplicatedResource] = Field(min_length=1)


class Sharing(_Strict):
    time_slicing: ReplicatedResources | None = Field(default=None, alias="timeSlicing")
    mps: ReplicatedResources | None = None

    @property
    def strategy(self) -> Literal["none", "time-slicing", "mps"]:
        """MPS wins when both are set, as in the plugin."""
        if self.mps is not None:
            return "mps"
        if self.time_slicing is not None:
            return "time-slicing"
        return "none"

    @property
    def active(self) -> ReplicatedResources | None:
        return self.mps if self.mps is not None else self.time_slicing


class Imex(_Strict):
    channel_ids: list[int] = Field(default_factory=list, alias="channelIDs")
    required: bool | None = None


class DevicePluginConfig(_Strict):
    version: Literal["v1", ""] = "v1"
    flags: Flags | None = None
    resources: dict[str, object] | None = None
    sharing: Sharing | None = None
    imex: Imex | None = None

    @property
    def sharing_strategy(self) -> Literal["none", "time-slicing", "mps"]:
        return self.sharing.strategy if self.sharing else "none"

    def replicas_for(self, resource: str) -> int:
        """Replicas advertised per device of `resource` (1 when it is not shared)."""
        active = self.sharing.active if self.sharing else None
        if active is None:
            return 1
        for res in active.resources:
            if res.name == resource:
                return max(1, res.replicas)
        return 1

    def advertised_name(self, resource: str) -> str:
        """`<name>.shared` when renameByDefault is set and the resource is replicated."""
        active = self.sharing.active if self.sharing else None
        if active is None or not active.rename_by_default:
            return resource
        if any(res.name == resource and res.replicas > 1 for res in active.resources):
            return resource + ".shared"
        return resource
