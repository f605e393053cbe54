"""GPU nodes on a real API server (`sandbox.remote.GpuNodes`, `gpuctl sandbox nodes`): the
nodes register with the GPU Operator's labels and capacity, heartbeat with a node Lease, the
real scheduler binds GPU pods that the kubelet stand-in runs and finishes, and the MIG
manager's state machine runs as on the sandbox. Each test uses its own pool names."""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from sandbox import SandboxSpec, gpu_pod_manifest
from sandbox.controlplane import ControlPlane
from sandbox.remote import GpuNodes
from schemas.kinds import GPUNodePool
from tests.conformance.conftest import _pool as pool_of
from tests.conformance.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
MIG_STATE = "nvidia.com/mig.config.state"


def _pool(name: str) -> GPUNodePool:
    return pool_of(name, "A100-SXM4-80GB", 4, 1, "all-disabled", "mixed")


@pytest.fixture
def core(control_plane: ControlPlane) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(str(control_plane.kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def pool_nodes(control_plane: ControlPlane) -> Iterator[tuple[str, GpuNodes]]:
    """One A100 node of a pool named for this test, deleted afterwards; heartbeats every second."""
    name = f"rn{uuid.uuid4().hex[:6]}"
    spec = SandboxSpec(pools=[_pool(name)])
    with GpuNodes(control_plane.kubeconfig, spec, speed=200, heartbeat_s=1.0, delete_on_stop=True) as nodes:
        yield name, nodes


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"rn-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    wait_for(lambda: core.list_namespaced_service_account(name).items, what="default ServiceAccount")
    yield name
    core.delete_namespace(name)


def _labels(core: client.CoreV1Api, node: str) -> dict[str, str]:
    return dict(core.read_node(node).metadata.labels or {})


def test_nodes_register_ready_with_gpu_capacity_and_heartbeat(
    core: client.CoreV1Api, pool_nodes: tuple[str, GpuNodes]
) -> None:
    """The node carries GFD labels and GPU allocatable, stays Ready and renews its Lease."""
    pool, _ = pool_nodes
    node = core.read_node(f"{pool}-0")
    assert node.metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert node.status.allocatable["nvidia.com/gpu"] == "4"
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
    leases = client.CoordinationV1Api(core.api_client)
    first = wait_for(lambda: _lease(leases, f"{pool}-0"), what="node lease")
    assert first.spec.holder_identity == f"{pool}-0"
    wait_for(
        lambda: (_lease(leases, f"{pool}-0") or first).spec.renew_time > first.spec.renew_time,
        what="lease renewal",
    )
    rv = node.metadata.resource_version
    wait_for(lambda: core.read_node(f"{pool}-0").metadata.resource_version != rv, what="status heartbeat")


def _lease(leases: client.CoordinationV1Api, name: str) -> client.V1Lease | None:
    try:
        return leases.read_namespaced_lease(name, "kube-node-lease")
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_scheduled_gpu_pod_runs_and_deletion_finishes(
    core: client.CoreV1Api, pool_nodes: tuple[str, GpuNodes], namespace: str
) -> None:
    """The real scheduler binds a GPU pod to the pool's node; it runs with a 10.244/16 podIP
    and a graceful delete completes."""
    pool, _ = pool_nodes
    pod = gpu_pod_manifest("train", namespace=namespace, node_selector={"gpuctl.dev/pool": pool})
    core.create_namespaced_pod(namespace, pod)
    running = wait_for(
        lambda: (p := core.read_namespaced_pod("train", namespace)).status.phase == "Running" and p,
        what="pod Running",
    )
    assert running.spec.node_name == f"{pool}-0"
    assert ipaddress.ip_address(running.status.pod_ip) in ipaddress.ip_network("10.244.0.0/16")
    core.delete_namespaced_pod("train", namespace)
    wait_for(lambda: not _exists(core, "train", namespace), what="pod deletion to finish")


def _exists(core: client.CoreV1Api, name: str, namespace: str) -> bool:
    try:
        core.read_namespaced_pod(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def test_mig_change_succeeds_on_an_idle_node_and_fails_on_a_busy_one(
    core: client.CoreV1Api, pool_nodes: tuple[str, GpuNodes], namespace: str
) -> None:
    """A new mig.config label ends `success` with MIG resources advertised; with a GPU pod
    running on the node, the next change ends `failed`."""
    pool, _ = pool_nodes
    node = f"{pool}-0"
    core.patch_node(node, {"metadata": {"labels": {"nvidia.com/mig.config": "all-3g.40gb"}}})
    wait_for(
        lambda: (
            _labels(core, node).get(MIG_STATE) == "success"
            and core.read_node(node).status.allocatable.get("nvidia.com/mig-3g.40gb") == "8"
        ),
        what="MIG change applied",
    )
    pod = gpu_pod_manifest(
        "busy",
        namespace=namespace,
        resource="nvidia.com/mig-3g.40gb",
        node_selector={"gpuctl.dev/pool": pool},
    )
    core.create_namespaced_pod(namespace, pod)
    wait_for(
        lambda: core.read_namespaced_pod("busy", namespace).status.phase == "Running", what="pod Running"
    )
    core.patch_node(node, {"metadata": {"labels": {"nvidia.com/mig.config": "all-1g.10gb"}}})
    wait_for(lambda: _labels(core, node).get(MIG_STATE) == "failed", what="MIG change refused")


def _nodes_command(kubeconfig: Path, pools: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "gpuctl", "sandbox", "nodes", "--kubeconfig", str(kubeconfig),
            "--pools", str(pools), *options]  # fmt: skip


@pytest.mark.slow
def test_cli_serves_nodes_until_sigterm(control_plane: ControlPlane, tmp_path: Path) -> None:
    """`gpuctl sandbox nodes` registers the pools' nodes, exits 0 on SIGTERM and with
    --delete-on-exit removes them."""
    name = f"cli{uuid.uuid4().hex[:6]}"
    (tmp_path / "pool.yaml").write_text(
        f"apiVersion: gpuctl.dev/v1alpha1\nkind: GPUNodePool\nmetadata:\n  name: {name}\nspec:\n"
        f"  nodeSelector: {{matchLabels: {{gpuctl.dev/pool: {name}}}}}\n"
        "  gpu: {model: H100-SXM5-80GB, perNode: 8}\n  nodes: 2\n",
        encoding="utf-8",
    )
    command = _nodes_command(control_plane.kubeconfig, tmp_path, "--speed", "50", "--delete-on-exit")
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    api = config.new_client_from_config(str(control_plane.kubeconfig))
    core = client.CoreV1Api(api)
    try:
        banner = proc.stdout.readline() if proc.stdout else ""
        assert banner.startswith("2 GPU node(s)"), banner
        names = {n.metadata.name for n in core.list_node(label_selector=f"gpuctl.dev/pool={name}").items}
        assert names == {f"{name}-0", f"{name}-1"}
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped and deleted" in out
    assert not core.list_node(label_selector=f"gpuctl.dev/pool={name}").items
    api.close()


def test_cli_unreachable_cluster_exits_2(tmp_path: Path) -> None:
    """A kubeconfig whose server does not answer is a usage error (exit 2) with a message."""
    (tmp_path / "pool.yaml").write_text(
        "apiVersion: gpuctl.dev/v1alpha1\nkind: GPUNodePool\nmetadata:\n  name: p\nspec:\n"
        "  nodeSelector: {matchLabels: {gpuctl.dev/pool: p}}\n  gpu: {model: H100-SXM5-80GB, perNode: 8}\n",
        encoding="utf-8",
    )
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        _nodes_command(kubeconfig, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot reach the cluster" in result.stderr
