"""Node objects for GPU pools, and the MIG layouts a named mig-parted config gives a node.

Nodes are named `<pool>-<index>`, carry the labels the pool's selector matches plus the
pool's own labels and taints, and start with the pool's MIG config applied
(`nvidia.com/mig.config.state=success`) and its device-plugin config selected.
"""

from __future__ import annotations

from typing import Any

from sandbox.errors import SandboxError
from schemas.catalogue import catalogue
from schemas.kinds import GPUNodePool
from schemas.migconfig import MigLayout, MigPartedConfig, builtin_layout, layouts_for_gpus
from schemas.placement import fit_profiles

MIG_CONFIG = "nvidia.com/mig.config"
MIG_STATE = "nvidia.com/mig.config.state"
PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
POOL_ANNOTATION = "sandbox.gpuctl.dev/pool"
DEPLOY_LABELS = ("device-plugin", "gpu-feature-discovery", "dcgm-exporter", "dcgm", "nvsm")


class LayoutError(SandboxError):
    """A MIG config that cannot be applied to a node (unknown name, or does not fit)."""


def resolve_layouts(
    name: str, model: str, gpu_count: int, mig_parted: MigPartedConfig | None
) -> tuple[MigLayout, ...]:
    """The layout of every GPU of a node for config `name`: the repository's mig-parted
    config first, then the MIG manager's generated built-ins. LayoutError when unusable."""
    layouts: list[MigLayout | None]
    if mig_parted is not None and name in mig_parted.mig_configs:
        layouts = layouts_for_gpus(mig_parted.mig_configs[name], model, gpu_count)
    else:
        builtin = builtin_layout(name, model)
        if builtin is None:
            raise LayoutError(f"no mig config named {name!r} for {model}")
        layouts = [builtin] * gpu_count
    resolved = tuple(layout or MigLayout(enabled=False) for layout in layouts)
    cat = catalogue()
    for layout in resolved:
        if not layout.enabled:
            continue
        if not cat.is_mig_capable(model):
            raise LayoutError(f"{model} does not support MIG")
        fit = fit_profiles(model, layout.devices)
        if not fit.fits:
            raise LayoutError(fit.reason)
    return resolved


def _selector_labels(pool: GPUNodePool) -> dict[str, str]:
    selector = pool.spec.node_selector
    labels = dict(selector.match_labels)
    for req in selector.match_expressions:
        if req.operator == "In":
            labels[req.key] = req.values[0]
        elif req.operator == "Exists":
            labels[req.key] = "true"
    return labels


def node_name(pool: GPUNodePool, index: int) -> str:
    return f"{pool.metadata.name}-{index}"


def base_node(pool: GPUNodePool, index: int, address_index: int) -> dict[str, Any]:
    """A pool node before the GPU components have labelled it; `address_index` numbers the
    node across all pools (its InternalIP)."""
    name = node_name(pool, index)
    spec = pool.spec
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        **spec.labels,
        **_selector_labels(pool),
        MIG_CONFIG: spec.mig.config,
        MIG_STATE: "success",
    }
    if spec.topology.zone:
        labels["topology.kubernetes.io/zone"] = spec.topology.zone
    if spec.device_plugin is not None:
        labels[PLUGIN_CONFIG] = spec.device_plugin.config
    for component in DEPLOY_LABELS:
        labels[f"nvidia.com/gpu.deploy.{component}"] = "true"
    node: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {POOL_ANNOTATION: pool.metadata.name}},
        "spec": {"providerID": f"sandbox://{name}"},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.{address_index // 250}.{address_index % 250 + 2}"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.33.0",
                "containerRuntimeVersion": "containerd://2.0.0",
                "kernelVersion": "6.8.0",
                "osImage": "Ubuntu 24.04 LTS",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kubeProxyVersion": "",
            },
        },
    }
    if spec.taints:
        node["spec"]["taints"] = [t.model_dump(by_alias=True, exclude_defaults=False) for t in spec.taints]
    return node


def node_resources(pool: GPUNodePool, gpu_resources: dict[str, int]) -> dict[str, str]:
    """capacity/allocatable of a pool node with these GPU resources."""
    res = pool.spec.node_resources
    resources = {
        "cpu": f"{res.cpu:g}",
        "memory": f"{int(res.memory_gib * 1024)}Mi",
        "pods": "110",
        "ephemeral-storage": "1Ti",
    }
    resources |= {name: str(count) for name, count in gpu_resources.items()}
    return resources
