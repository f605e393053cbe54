"""What a node of a GPUNodePool advertises to Kubernetes, derived from the pool, the
repository's mig-parted config and its device-plugin configs (gpu-object-model §3.2, §4).

Used by validation (are quota resources advertised by some pool?), and meant for the sandbox
(node allocatable) and the simulator (cluster model). Rules encoded:

- a GPU with MIG off advertises one `nvidia.com/gpu`;
- MIG on, strategy `single`: each MIG device is one `nvidia.com/gpu`;
- MIG on, strategy `mixed`: `nvidia.com/mig-<profile>` (`+` spelt `.`) per instance whose
  compute instance covers the whole GPU instance;
- MIG on, strategy `none`: the MIG devices are not advertised (nothing usable);
- sharing multiplies a resource by its replicas; `renameByDefault` advertises `<name>.shared`.
"""

from __future__ import annotations

import re
from collections import Counter

from schemas.deviceplugin import DevicePluginConfig
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigLayout, MigPartedConfig, builtin_layout, layouts_for_gpus

_CI_PREFIX = re.compile(r"^(\d+)c\.(\d+)g\.")


def pool_layouts(pool: GPUNodePool, mig_parted: MigPartedConfig | None) -> list[MigLayout | None] | None:
    """The MIG layout of each GPU of a pool's node (None for a GPU no entry matches, which the
    MIG manager leaves alone); None when the pool's config name resolves to nothing. With a
    repository mig-parted config only its configs exist; without one, the built-ins do."""
    name = pool.spec.mig.config
    model = pool.spec.gpu.model
    count = pool.spec.gpu.per_node
    if mig_parted is not None:
        # A custom mig-parted ConfigMap replaces the MIG manager's generated configs.
        if name not in mig_parted.mig_configs:
            return None
        return layouts_for_gpus(mig_parted.mig_configs[name], model, count)
    builtin = builtin_layout(name, model)
    if builtin is None:
        return None
    return [builtin] * count


def mig_resource_name(profile: str) -> str | None:
    """The mixed-strategy resource of a profile, or None if the plugin does not advertise it
    (a compute instance smaller than its GPU instance, such as `1c.3g.20gb`)."""
    match = _CI_PREFIX.match(profile)
    if match:
        if match.group(1) != match.group(2):
            return None
        profile = profile[match.end(1) + 2 :]
    return "nvidia.com/mig-" + profile.replace("+", ".")


def node_resources(
    pool: GPUNodePool,
    mig_parted: MigPartedConfig | None,
    device_plugin: dict[str, DevicePluginConfig],
) -> dict[str, int]:
    """Extended GPU resources one node of `pool` advertises (resource name → count)."""
    layouts = pool_layouts(pool, mig_parted) or [MigLayout(enabled=False)] * pool.spec.gpu.per_node
    strategy = pool.spec.mig.strategy
    counts: Counter[str] = Counter()
    for layout in layouts:
        if layout is None or not layout.enabled:
            counts["nvidia.com/gpu"] += 1
        elif strategy == "single":
            counts["nvidia.com/gpu"] += sum(layout.devices.values())
        elif strategy == "mixed":
            for profile, number in layout.devices.items():
                resource = mig_resource_name(profile)
                if resource is not None and number:
                    counts[resource] += number
    config = device_plugin.get(pool.spec.device_plugin.config) if pool.spec.device_plugin else None
    if config is None:
        return dict(counts)
    shared: dict[str, int] = {}
    for resource, number in counts.items():
        replicas = config.replicas_for(resource)
        shared[config.advertised_name(resource)] = number * replicas
    return shared
