"""What a GPU node advertises: the GPU Feature Discovery labels and the device plugin's
extended resources, from the GPU model, the MIG layout applied to each GPU, the MIG
strategy and the device-plugin sharing config (GPU object model §3.2–3.3 and §4)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from schemas.catalogue import catalogue
from schemas.deviceplugin import DevicePluginConfig
from schemas.migconfig import MigLayout

_FAMILIES = {
    "7.0": "volta",
    "7.5": "turing",
    "8.0": "ampere",
    "8.6": "ampere",
    "8.7": "ampere",
    "8.9": "ada-lovelace",
    "9.0": "hopper",
    "10.0": "blackwell",
    "12.0": "blackwell",
}
DRIVER_VERSION = ("580", "65", "06")
CUDA_VERSION = ("13", "0")


@dataclass(frozen=True)
class GpuNodeState:
    """The hardware and software state that decides what a node advertises."""

    model: str
    gpu_count: int
    layouts: tuple[MigLayout, ...]  # one per GPU, as applied by the MIG manager
    mig_strategy: str  # none | single | mixed
    plugin: DevicePluginConfig | None = None


@dataclass(frozen=True)
class Advertised:
    labels: dict[str, str]
    resources: dict[str, int]


def _sharing(plugin: DevicePluginConfig | None, resource: str) -> tuple[int, str, str]:
    """(replicas, advertised name, strategy) of one base resource."""
    if plugin is None:
        return 1, resource, "none"
    replicas = plugin.replicas_for(resource)
    if replicas <= 1:
        return 1, resource, "none"
    return replicas, plugin.advertised_name(resource), plugin.sharing_strategy


def advertise(state: GpuNodeState) -> Advertised:
    """Labels and allocatable GPU resources of a node in `state`."""
    cat = catalogue()
    model = cat.model(state.model)
    strategy = (
        state.plugin.flags.mig_strategy
        if state.plugin and state.plugin.flags and state.plugin.flags.mig_strategy
        else state.mig_strategy
    )
    major, _, minor = model.compute_capability.partition(".")
    labels = {
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.family": _FAMILIES.get(model.compute_capability, "unknown"),
        "nvidia.com/gpu.compute.major": major,
        "nvidia.com/gpu.compute.minor": minor,
        "nvidia.com/gpu.mode": "compute",
        "nvidia.com/cuda.driver-version.major": DRIVER_VERSION[0],
        "nvidia.com/cuda.driver-version.minor": DRIVER_VERSION[1],
        "nvidia.com/cuda.driver-version.revision": DRIVER_VERSION[2],
        "nvidia.com/cuda.driver-version.full": ".".join(DRIVER_VERSION),
        "nvidia.com/cuda.runtime-version.major": CUDA_VERSION[0],
        "nvidia.com/cuda.runtime-version.minor": CUDA_VERSION[1],
        "nvidia.com/cuda.runtime-version.full": ".".join(CUDA_VERSION),
        "nvidia.com/mig.capable": "true" if model.mig is not None else "false",
        "nvidia.com/mps.capable": "false",
        "nvidia.com/mig.strategy": strategy,
    }
    base: dict[str, int] = {}
    product, count, memory = model.product_label, state.gpu_count, model.memory_mib
    mig_gpus = [layout for layout in state.layouts if layout.enabled]
    instances = Counter(name for layout in mig_gpus for name in layout.instances())
    if strategy == "single" and mig_gpus:
        profiles = set(instances)
        if len(mig_gpus) == state.gpu_count and len(profiles) == 1:
            (profile_name,) = profiles
            profile = cat.profile(state.model, profile_name)
            product = f"{model.product_label}-MIG-{profile_name}"
            count, memory = instances[profile_name], profile.memory_mib
            labels |= {
                "nvidia.com/gpu.multiprocessors": str(profile.sm_count),
                "nvidia.com/gpu.slices.gi": str(profile.sm_slices),
                "nvidia.com/gpu.slices.ci": str(profile.sm_slices),
            }
        else:
            product, count, memory = f"{model.product_label}-MIG-INVALID", 0, 0
        base["nvidia.com/gpu"] = count
    elif strategy == "mixed":
        base["nvidia.com/gpu"] = state.gpu_count - len(mig_gpus)
        for name, n in sorted(instances.items()):
            profile = cat.profile(state.model, name)
            base[profile.resource_name] = n
            prefix = profile.resource_name
            labels |= {
                f"{prefix}.count": str(n),
                f"{prefix}.memory": str(profile.memory_mib),
                f"{prefix}.multiprocessors": str(profile.sm_count),
                f"{prefix}.slices.gi": str(profile.sm_slices),
                f"{prefix}.slices.ci": str(profile.sm_slices),
                f"{prefix}.product": f"{model.product_label}-MIG-{name}",
            }
    else:  # `none`: whole GPUs only; a MIG-enabled GPU offers nothing usable (as schemas.advertised)
        base["nvidia.com/gpu"] = state.gpu_count - len(mig_gpus)

    resources: dict[str, int] = {}
    for resource, n in base.items():
        replicas, advertised, sharing = _sharing(state.plugin, resource)
        resources[advertised] = n * replicas
        if resource == "nvidia.com/gpu":
            labels["nvidia.com/gpu.replicas"] = str(replicas)
            labels["nvidia.com/gpu.sharing-strategy"] = sharing
            if replicas > 1 and advertised == resource:
                product += "-SHARED"
        else:
            labels[f"{resource}.replicas"] = str(replicas)
            labels[f"{resource}.sharing-strategy"] = sharing
    labels["nvidia.com/gpu.product"] = product
    labels["nvidia.com/gpu.count"] = str(count)
    labels["nvidia.com/gpu.memory"] = str(memory)
    return Advertised(labels, resources)
