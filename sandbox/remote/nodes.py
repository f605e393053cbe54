"""`GpuNodes`: registers the pools' GPU nodes on a remote API server and runs their MIG
manager, device plugin, GFD, kubelet and heartbeats until stopped. The cluster's own
scheduler, controller manager (node lifecycle, Deployments, disruption budgets) do the rest."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from sandbox.clock import SandboxClock
from sandbox.faults import Faults
from sandbox.gpu.heartbeat import NODE_LEASE_NAMESPACE, NodeHeartbeat
from sandbox.gpu.kubelet import Kubelet
from sandbox.gpu.loop import Controller, ControllerLoop
from sandbox.gpu.node_agent import NodeAgents
from sandbox.gpu.operator_config import OPERATOR_NAMESPACE
from sandbox.gpu.port import CLUSTER_POLICIES, CONFIGMAPS, LEASES, NODES, PODS
from sandbox.remote.port import RemotePort
from sandbox.spec import SandboxSpec

WATCHED = {
    NODES: "",
    PODS: "",
    LEASES: NODE_LEASE_NAMESPACE,
    CONFIGMAPS: OPERATOR_NAMESPACE,
    CLUSTER_POLICIES: "",
}


class GpuNodes:
    """The GPU nodes of `spec` on the cluster of `kubeconfig`; `speed` scales the GPU
    components' delays (MIG reconfiguration, pod start), not the heartbeats."""

    def __init__(
        self,
        kubeconfig: Path,
        spec: SandboxSpec,
        *,
        speed: float = 1.0,
        context: str | None = None,
        heartbeat_s: float = 10.0,
        delete_on_stop: bool = False,
    ) -> None:
        self.spec = spec
        self.clock = SandboxClock(speed)
        self.faults = Faults()
        self.port = RemotePort(kubeconfig, WATCHED, context)
        self._agents = NodeAgents(self.port, spec, self.faults, cordon_taint=False)
        self._delete_on_stop = delete_on_stop
        self._heartbeat_s = heartbeat_s
        self._loop: ControllerLoop | None = None

    @property
    def node_names(self) -> list[str]:
        return self._agents.node_names

    def start(self) -> GpuNodes:
        """Register the nodes and start the components (returns once the caches are filled)."""
        self.port.start()
        self._agents.create_nodes()
        controllers: list[Controller] = [
            self._agents,
            Kubelet(self.port, self.clock, self.spec.timings, owns=self._agents.owns),
            NodeHeartbeat(self.port, self.clock, lambda: self._agents.node_names, self._heartbeat_s),
        ]
        self._loop = ControllerLoop(self.port, self.clock, controllers)
        self._loop.start()
        return self

    def stop(self) -> None:
        """Stop the components (and delete the nodes when asked)."""
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
        try:
            if self._delete_on_stop:
                for name in self._agents.node_names:
                    self.port.delete(NODES, "", name)
        finally:
            self.port.stop()

    def __enter__(self) -> GpuNodes:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
