"""GPU nodes for any API server: the sandbox's emulated GPU components (GPU nodes from the
pools with the GPU Operator's labels and capacity, the MIG manager, the device plugin and
GFD, a kubelet with heartbeats and node Leases) driving a real cluster through a kubeconfig,
a GPU-aware KWOK. `gpuctl sandbox nodes` runs it as a process.

    with GpuNodes(kubeconfig, SandboxSpec(pools=pools), speed=50) as nodes:
        ...

This package and `reconciler.cluster` are the only places that import `kubernetes`.
"""

from sandbox.remote.nodes import GpuNodes
from sandbox.remote.port import RemotePort

__all__ = ["GpuNodes", "RemotePort"]
