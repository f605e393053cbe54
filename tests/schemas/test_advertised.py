"""What a pool's nodes advertise under each MIG strategy and sharing config."""

from __future__ import annotations

from schemas.advertised import mig_resource_name, node_resources
from schemas.deviceplugin import DevicePluginConfig
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigPartedConfig


def make_pool(
    model: str, per_node: int, config: str = "all-disabled", strategy: str = "none", plugin: str | None = None
) -> GPUNodePool:
    spec: dict[str, object] = {
        "nodeSelector": {"matchLabels": {"p": "x"}},
        "gpu": {"model": model, "perNode": per_node},
        "mig": {"config": config, "strategy": strategy},
    }
    if plugin:
        spec["devicePlugin"] = {"config": plugin}
    return GPUNodePool.model_validate(
        {"apiVersion": "gpuctl.dev/v1alpha1", "kind": "GPUNodePool", "metadata": {"name": "p"}, "spec": spec}
    )


def sharing(replicas: int, rename: bool) -> DevicePluginConfig:
    return DevicePluginConfig.model_validate(
        {
            "version": "v1",
            "sharing": {
                "timeSlicing": {
                    "renameByDefault": rename,
                    "resources": [{"name": "nvidia.com/gpu", "replicas": replicas}],
                }
            },
        }
    )


def test_mixed_strategy_advertises_each_profile() -> None:
    """all-balanced under mixed: 2×1g, 1×2g, 1×3g per GPU, named nvidia.com/mig-<profile>."""
    pool = make_pool("H100-SXM5-80GB", 8, "all-balanced", "mixed")
    assert node_resources(pool, None, {}) == {
        "nvidia.com/mig-1g.10gb": 16,
        "nvidia.com/mig-2g.20gb": 8,
        "nvidia.com/mig-3g.40gb": 8,
    }


def test_single_strategy_counts_mig_devices_as_gpus() -> None:
    """Under single, every MIG device is one nvidia.com/gpu."""
    pool = make_pool("A100-SXM4-40GB", 2, "all-1g.5gb", "single")
    assert node_resources(pool, None, {}) == {"nvidia.com/gpu": 14}


def test_none_strategy_hides_mig_devices_and_keeps_full_gpus() -> None:
    """A repo config with half the GPUs in MIG mode under none advertises only the whole GPUs."""
    config = MigPartedConfig.model_validate(
        {
            "version": "v1",
            "mig-configs": {
                "half": [
                    {"devices": [0, 1], "mig-enabled": True, "mig-devices": {"3g.40gb": 2}},
                    {"devices": [2, 3], "mig-enabled": False},
                ]
            },
        }
    )
    assert node_resources(make_pool("H100-SXM5-80GB", 4, "half", "none"), config, {}) == {"nvidia.com/gpu": 2}
    assert node_resources(make_pool("H100-SXM5-80GB", 4, "half", "mixed"), config, {}) == {
        "nvidia.com/gpu": 2,
        "nvidia.com/mig-3g.40gb": 4,
    }


def test_time_slicing_multiplies_and_renames() -> None:
    """Replicas multiply the count; renameByDefault advertises <name>.shared."""
    pool = make_pool("T4", 4, plugin="ts")
    assert node_resources(pool, None, {"ts": sharing(4, True)}) == {"nvidia.com/gpu.shared": 16}
    assert node_resources(pool, None, {"ts": sharing(3, False)}) == {"nvidia.com/gpu": 12}


def test_partial_compute_instances_are_not_advertised() -> None:
    """Only compute instances covering their whole GPU instance get a mixed-strategy resource."""
    assert mig_resource_name("1g.10gb+me") == "nvidia.com/mig-1g.10gb.me"
    assert mig_resource_name("3c.3g.40gb") == "nvidia.com/mig-3g.40gb"
    assert mig_resource_name("1c.3g.40gb") is None
