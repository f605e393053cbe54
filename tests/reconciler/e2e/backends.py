"""The reconcile engine's end-to-end cluster on either backend: the embedded sandbox, or a
fresh real control plane (etcd, apiserver, controller manager, scheduler) with the
operators' CRDs installed and the pools' GPU nodes played by `sandbox.remote.GpuNodes`
(heartbeating, so Node resourceVersions move as in a cluster). Writes are counted at the
client (POST/PUT/PATCH/DELETE requests), which both backends support."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sandbox
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.pipeline import ReconcileOptions, ReconcileResult, reconcile
from reconciler.protocols import AuditSink
from sandbox.controlplane import ControlPlane
from sandbox.remote import GpuNodes
from sandbox.remote.operators import install_operators
from schemas.desired import DesiredState
from schemas.results import RevisionInfo
from tests.reconciler.e2e.engine_kit import SandboxTime

WRITES = ("POST", "PUT", "PATCH", "DELETE")
# Why a test is an expected (non-strict) failure on the real backend until `realfix` lands.
NODE_RACES = (
    "realfix: gpuctl's Node writes fail with 409 when a kubelet heartbeat lands between its read and "
    "write, and a node can be relabelled while a replacement GPU pod is bound to it"
)


@dataclass
class E2ECluster:
    backend: str
    kubeconfig: Path
    clock: sandbox.SandboxClock
    client: KubeClusterClient
    sandbox: sandbox.Sandbox | None = None

    def writes(self) -> int:
        """Write requests gpuctl's client has sent so far."""
        return sum(self.client.requests.get(method, 0) for method in WRITES)

    def run(self, state: DesiredState, audit: AuditSink | None = None, **options: Any) -> ReconcileResult:
        options.setdefault("poll_interval", 1.0)
        return reconcile(
            state,
            self.client,
            clock=SandboxTime(self.clock),
            revision=RevisionInfo("e2e", author="tester", message="e2e"),
            audit=audit,
            options=ReconcileOptions(**options),
        )


@contextmanager
def e2e_cluster(
    backend: str, state: DesiredState, plane: ControlPlane | None = None, *, speed: float = 200.0
) -> Iterator[E2ECluster]:
    """A cluster for `state`'s pools on `backend` (`plane`: a fresh control plane for `real`)."""
    spec = sandbox.SandboxSpec.from_state(state)
    if backend == "sandbox":
        with sandbox.start(spec, speed=speed) as sb:
            client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(sb.kubeconfig_path)))
            try:
                yield E2ECluster(backend, sb.kubeconfig_path, sb.clock, client, sb)
            finally:
                client.close()
        return
    assert plane is not None, "the real backend needs a control plane"
    install_operators(plane.kubeconfig)
    with GpuNodes(plane.kubeconfig, spec, speed=speed) as nodes:
        client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(plane.kubeconfig)))
        try:
            yield E2ECluster(backend, plane.kubeconfig, nodes.clock, client)
        finally:
            client.close()
