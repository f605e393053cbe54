"""The sandbox cluster: an embedded Kubernetes API server on loopback that behaves like a
GPU cluster (GPU nodes from pools, MIG manager, device plugin, scheduler and kubelet).

    with sandbox.start(SandboxSpec.from_state(state), speed=60) as cluster:
        client = kubernetes.config.new_client_from_config(str(cluster.kubeconfig_path))

This package never imports `reconciler`.
"""

from sandbox.clock import SandboxClock
from sandbox.faults import Fault, Faults
from sandbox.server import Sandbox, start
from sandbox.spec import GpuTimings, SandboxSpec
from sandbox.workloads import gpu_pod_batch, gpu_pod_manifest

__all__ = [
    "Fault",
    "Faults",
    "GpuTimings",
    "Sandbox",
    "SandboxClock",
    "SandboxSpec",
    "gpu_pod_batch",
    "gpu_pod_manifest",
    "start",
]
