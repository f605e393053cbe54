"""Which ConfigMaps of a desired state are the GPU Operator's configs: the MIG manager's
mig-parted config and the device plugin's config (named by the ClusterPolicy, or recognised
by their content). Found once, while validating; the loader records them in
`DesiredState.gpu_operator_configs`, where rendering reads them (they apply with the
GPU Operator stage)."""

from __future__ import annotations

from reconciler.validation.context import Context
from reconciler.validation.deviceplugin import is_device_plugin_configmap
from reconciler.validation.migparted import cluster_policy_config_name, is_mig_parted_configmap
from schemas.refs import ObjectRef


def gpu_operator_configmaps(context: Context) -> set[ObjectRef]:
    """The refs of the ConfigMaps the GPU Operator reads as its MIG or device-plugin config."""
    mig_name = cluster_policy_config_name(context, "migManager")
    plugin_name = cluster_policy_config_name(context, "devicePlugin")
    return {
        m.ref
        for m in context.kind("ConfigMap", "")
        if is_mig_parted_configmap(m, mig_name) or is_device_plugin_configmap(m, plugin_name)
    }
