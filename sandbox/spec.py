"""What a sandbox cluster is made of: GPU node pools, the mig-parted config and the
device-plugin configs (normally taken from a desired-state repository), and the timings
of the emulated GPU components in sandbox seconds."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.desired import DesiredState
from schemas.deviceplugin import DevicePluginConfig
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigPartedConfig


@dataclass(frozen=True)
class GpuTimings:
    """Delays of the emulated components, in sandbox seconds."""

    mig_reconfigure_s: float = 45.0  # geometry change only (GPU idle)
    mig_mode_change_s: float = 120.0  # MIG mode on/off needs a GPU reset
    device_plugin_restart_s: float = 5.0
    pod_start_s: float = 2.0
    pod_termination_s: float = 1.0


@dataclass
class SandboxSpec:
    """The cluster to emulate."""

    pools: list[GPUNodePool] = field(default_factory=list)
    mig_parted: MigPartedConfig | None = None
    device_plugin: dict[str, DevicePluginConfig] = field(default_factory=dict)
    timings: GpuTimings = field(default_factory=GpuTimings)
    # Events the API server remembers for watches; older resourceVersions get 410 Gone.
    watch_history: int = 100_000

    @classmethod
    def from_state(cls, state: DesiredState) -> SandboxSpec:
        """The pools and GPU Operator configs of a loaded desired-state repository."""
        return cls(
            pools=list(state.pools), mig_parted=state.mig_parted, device_plugin=dict(state.device_plugin)
        )
