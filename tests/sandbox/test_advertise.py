"""What a GPU node advertises under each MIG strategy and sharing config (GFD labels, resources)."""

from __future__ import annotations

from sandbox.gpu.advertise import GpuNodeState, advertise
from schemas.deviceplugin import DevicePluginConfig
from schemas.migconfig import MigLayout


def _mig(devices: dict[str, int]) -> MigLayout:
    return MigLayout(enabled=True, devices=devices)


def test_single_strategy_counts_mig_devices_as_gpus() -> None:
    """Under `single` with one profile, each MIG device is one nvidia.com/gpu and the product names it."""
    state = GpuNodeState("H100-SXM5-80GB", 2, (_mig({"1g.10gb": 7}),) * 2, "single")
    out = advertise(state)
    assert out.resources == {"nvidia.com/gpu": 14}
    assert out.labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3-MIG-1g.10gb"
    assert out.labels["nvidia.com/gpu.count"] == "14"


def test_single_strategy_with_mixed_profiles_is_invalid() -> None:
    """Under `single`, different profiles on a node make GFD report MIG-INVALID and zero GPUs."""
    state = GpuNodeState("H100-SXM5-80GB", 1, (_mig({"1g.10gb": 2, "3g.40gb": 1}),), "single")
    out = advertise(state)
    assert out.resources == {"nvidia.com/gpu": 0}
    assert out.labels["nvidia.com/gpu.product"].endswith("-MIG-INVALID")


def test_mps_sharing_multiplies_and_labels() -> None:
    """MPS replicas multiply nvidia.com/gpu and set sharing-strategy=mps."""
    plugin = DevicePluginConfig.model_validate(
        {
            "version": "v1",
            "flags": {"mpsRoot": "/run/nvidia/mps"},
            "sharing": {"mps": {"resources": [{"name": "nvidia.com/gpu", "replicas": 3}]}},
        }
    )
    out = advertise(GpuNodeState("A100-SXM4-80GB", 4, (MigLayout(enabled=False),) * 4, "none", plugin))
    assert out.resources == {"nvidia.com/gpu": 12}
    assert out.labels["nvidia.com/gpu.sharing-strategy"] == "mps"


def test_non_mig_gpu_reports_mig_capable_false() -> None:
    """A GPU without MIG support says so in nvidia.com/mig.capable."""
    out = advertise(GpuNodeState("T4", 1, (MigLayout(enabled=False),), "none"))
    assert out.labels["nvidia.com/mig.capable"] == "false"
    assert out.resources == {"nvidia.com/gpu": 1}
