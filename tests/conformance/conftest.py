"""Fixtures of the conformance suite: a cluster to talk to (the sandbox by default, or the
cluster of `GPUCTL_TEST_KUBECONFIG`), official-client APIs, and a fresh namespace per test."""

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
from schemas.kinds import GPUNodePool


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


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    external = os.environ.get("GPUCTL_TEST_KUBECONFIG")
    if external:
        yield Target(Path(external), None)
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
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"conf-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    core.delete_namespace(name)
