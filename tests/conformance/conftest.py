"""Fixtures of the conformance suite: a cluster to talk to, official-client APIs, and a
fresh namespace per test. Every test runs on both backends: the sandbox, and a real
control plane (`KUBEBUILDER_ASSETS`) whose GPU nodes `sandbox.remote.GpuNodes` plays; or
only on the cluster of `GPUCTL_TEST_KUBECONFIG` when that is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

import sandbox
from sandbox import Sandbox, SandboxSpec
from sandbox.controlplane import ControlPlane
from sandbox.remote import GpuNodes
from schemas.kinds import GPUNodePool
from tests.conformance.helpers import wait_for
from tests.kube.fixtures import BACKENDS


def _pool(name: str, model: str, per_node: int, nodes: int, mig: str, strategy: str) -> GPUNodePool:
    return GPUNodePool.model_validate(
        {
            "apiVersion": "gpuctl.dev/v1alpha1",
            "kind": "GPUNodePool",
            "metadata": {"name": name},
            "spec": {
                "nodeSelector": {"matchLabels": {"gpuctl.dev/pool": name}},
                "gpu": {"model": model, "perNode": per_node},
                "nodes": nodes,
                "mig": {"config": mig, "strategy": strategy},
            },
        }
    )


CONFORMANCE_POOLS = [
    _pool("h100", "H100-SXM5-80GB", 8, 2, "all-disabled", "mixed"),
    _pool("a100", "A100-SXM4-80GB", 4, 1, "all-1g.10gb", "mixed"),
]


@dataclass
class Target:
    kubeconfig: Path
    sandbox: Sandbox | None
    backend: str = "sandbox"
    gpu_nodes: bool = True  # the CONFORMANCE_POOLS nodes exist (the sandbox's, or GpuNodes on a real server)

    @property
    def real(self) -> bool:
        return self.sandbox is None


def sandbox_divergence(request: pytest.FixtureRequest, target: Target, reason: str) -> None:
    """Mark the running test a strict expected failure on the sandbox: it asserts what a real
    API server does, which the sandbox does not do yet (`reason` names the divergence). The
    test still runs there, so it fails loudly (XPASS strict) once the sandbox is fixed."""
    if target.sandbox is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.fixture(scope="session", params=BACKENDS)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    external = os.environ.get("GPUCTL_TEST_KUBECONFIG")
    if external:
        if request.param != "real":
            pytest.skip("GPUCTL_TEST_KUBECONFIG is set: the tests run on that cluster only")
        yield Target(Path(external), None, "real", gpu_nodes=False)
        return
    if request.param == "real":
        plane: ControlPlane = request.getfixturevalue("control_plane")
        with GpuNodes(plane.kubeconfig, SandboxSpec(pools=list(CONFORMANCE_POOLS)), speed=50):
            yield Target(plane.kubeconfig, None, "real")
        return
    with sandbox.start(SandboxSpec(pools=list(CONFORMANCE_POOLS), watch_history=2000), speed=50) as cluster:
        yield Target(cluster.kubeconfig_path, cluster)


@pytest.fixture(scope="session")
def api_client(target: Target) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(target.kubeconfig))
    yield api
    api.close()


@pytest.fixture
def gpu_sandbox(target: Target) -> Sandbox:
    """The sandbox, for tests of the GPU emulation (skipped against a real cluster)."""
    if target.sandbox is None:
        pytest.skip("needs the sandbox's GPU emulation")
    return target.sandbox


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api, target: Target) -> Iterator[str]:
    """A new namespace, ready for Pods (a real cluster admits them once the namespace's
    `default` ServiceAccount exists)."""
    name = f"conf-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    if target.real:
        wait_for(
            lambda: _has_default_service_account(core, name), timeout=30, what=f"{name}'s ServiceAccount"
        )
    yield name
    core.delete_namespace(name)


def _has_default_service_account(core: client.CoreV1Api, namespace: str) -> bool:
    return any(sa.metadata.name == "default" for sa in core.list_namespaced_service_account(namespace).items)
