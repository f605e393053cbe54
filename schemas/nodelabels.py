"""The node labels a GPUNodePool asks for: its own `spec.labels` plus the GPU Operator's input
labels — `nvidia.com/mig.config` (MIG-capable models only; read by the MIG manager) and
`nvidia.com/device-plugin.config` (read by the device plugin's config manager). Changing
either of those reconfigures GPUs, so they are disruptive and go through a rollout."""

from __future__ import annotations

from schemas.catalogue import catalogue
from schemas.kinds import GPUNodePool

MIG_CONFIG_LABEL = "nvidia.com/mig.config"
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
DISRUPTIVE_LABELS = (MIG_CONFIG_LABEL, DEVICE_PLUGIN_CONFIG_LABEL)


def pool_labels(pool: GPUNodePool) -> dict[str, str]:
    """The labels every node of `pool` must carry."""
    labels = dict(pool.spec.labels)
    model = pool.spec.gpu.model
    if catalogue().has_model(model) and catalogue().is_mig_capable(model):
        labels[MIG_CONFIG_LABEL] = pool.spec.mig.config
    if pool.spec.device_plugin is not None:
        labels[DEVICE_PLUGIN_CONFIG_LABEL] = pool.spec.device_plugin.config
    return labels
