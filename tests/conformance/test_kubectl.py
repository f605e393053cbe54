"""kubectl against the cluster: get, describe, server-side apply, label, cordon and drain
with GPU pods and a PodDisruptionBudget. Skipped when kubectl is missing, except in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from sandbox import gpu_pod_manifest
from tests.conformance.conftest import Target
from tests.conformance.helpers import wait_for

pytestmark = pytest.mark.kubectl


@pytest.fixture(scope="module")
def kubectl_bin() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is required in CI (Debian package kubernetes-client)")
        pytest.skip("kubectl is not installed")
    return found


class Kubectl:
    def __init__(self, binary: str, kubeconfig: Path, home: Path) -> None:
        self.binary = binary
        self.env = {"KUBECONFIG": str(kubeconfig), "HOME": str(home), "PATH": os.environ.get("PATH", "")}

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.binary, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result


@pytest.fixture
def kubectl(kubectl_bin: str, target: Target, tmp_path: Path) -> Kubectl:
    return Kubectl(kubectl_bin, target.kubeconfig, tmp_path)


@pytest.fixture
def gpu_node(target: Target, core: client.CoreV1Api) -> Iterator[str]:
    """A GPU node of the conformance pools, uncordoned again after the test. On a real
    cluster, namespaces of earlier tests are deleted asynchronously: wait until their pods
    have left the h100 nodes."""
    if not target.gpu_nodes:
        pytest.skip("needs the conformance pools' GPU nodes")

    def vacated() -> bool:
        return not any(
            core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
            for node in ("h100-0", "h100-1")
        )

    wait_for(vacated, timeout=60, what="pods of earlier tests gone from the h100 nodes")
    yield "h100-1"
    core.patch_node("h100-1", {"spec": {"unschedulable": None}})


def test_get_nodes(kubectl: Kubectl, core: client.CoreV1Api) -> None:
    """`kubectl get nodes` lists every node with its status column."""
    out = kubectl.run("get", "nodes").stdout
    assert out.splitlines()[0].split()[:3] == ["NAME", "STATUS", "ROLES"]
    for node in core.list_node().items:
        assert node.metadata.name in out


def test_describe_node(kubectl: Kubectl, core: client.CoreV1Api) -> None:
    """`kubectl describe node` shows the node's capacity."""
    name = core.list_node().items[0].metadata.name
    out = kubectl.run("describe", "node", name).stdout
    assert f"Name:               {name}" in out and "Capacity:" in out


def test_server_side_apply_configmap(kubectl: Kubectl, core: client.CoreV1Api, namespace: str) -> None:
    """`kubectl apply --server-side` creates, then updates, a ConfigMap owned by manager kubectl;
    a conflicting apply by another manager fails without --force-conflicts."""
    manifest = "\n".join(
        [
            "apiVersion: v1",
            "kind: ConfigMap",
            "metadata:",
            "  name: app",
            f"  namespace: {namespace}",
            "data:",
            "  a: '1'",
            "",
        ]
    )
    assert "serverside-applied" in kubectl.run("apply", "--server-side", "-f", "-", stdin=manifest).stdout
    kubectl.run("apply", "--server-side", "-f", "-", stdin=manifest.replace("'1'", "'2'"))
    cm = core.read_namespaced_config_map("app", namespace)
    assert cm.data == {"a": "2"}
    assert [(e.manager, e.operation) for e in cm.metadata.managed_fields] == [("kubectl", "Apply")]
    clash = kubectl.run(
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "-f",
        "-",
        stdin=manifest.replace("'1'", "'3'"),
        check=False,
    )
    assert clash.returncode != 0 and "conflict" in clash.stderr.lower()
    kubectl.run(
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "--force-conflicts",
        "-f",
        "-",
        stdin=manifest.replace("'1'", "'3'"),
    )
    assert core.read_namespaced_config_map("app", namespace).data == {"a": "3"}


def test_label_and_delete(kubectl: Kubectl, core: client.CoreV1Api, namespace: str) -> None:
    """`kubectl label` adds and removes labels; `kubectl delete` removes the object."""
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "lab"}, "data": {}})
    kubectl.run("label", "-n", namespace, "configmap", "lab", "team=ml")
    assert core.read_namespaced_config_map("lab", namespace).metadata.labels == {"team": "ml"}
    kubectl.run("label", "-n", namespace, "configmap", "lab", "team-")
    assert not core.read_namespaced_config_map("lab", namespace).metadata.labels
    kubectl.run("delete", "-n", namespace, "configmap", "lab")
    assert not core.list_namespaced_config_map(namespace, field_selector="metadata.name=lab").items


def test_cordon_and_uncordon(kubectl: Kubectl, core: client.CoreV1Api, gpu_node: str) -> None:
    """`kubectl cordon` and `uncordon` flip spec.unschedulable."""
    kubectl.run("cordon", gpu_node)
    assert core.read_node(gpu_node).spec.unschedulable is True
    kubectl.run("uncordon", gpu_node)
    assert not core.read_node(gpu_node).spec.unschedulable


@pytest.mark.slow
def test_drain_with_gpu_pods_and_pdb(
    kubectl: Kubectl, api_client: client.ApiClient, namespace: str, gpu_node: str
) -> None:
    """`kubectl drain` evicts a node's GPU pods while a PDB keeps enough replicas healthy elsewhere;
    a PDB that allows no disruption makes the drain time out with the pod still there."""
    core, policy = client.CoreV1Api(api_client), client.PolicyV1Api(api_client)
    other = "h100-0"
    placement = {"train-0": gpu_node, "train-1": gpu_node, "train-2": other, "train-3": other}
    for name, node in placement.items():
        core.create_namespaced_pod(
            namespace,
            gpu_pod_manifest(
                name,
                namespace=namespace,
                labels={"app": "train"},
                node_selector={"kubernetes.io/hostname": node},
            ),
        )
    policy.create_namespaced_pod_disruption_budget(
        namespace,
        {
            "metadata": {"name": "train"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "train"}}},
        },
    )
    wait_for(
        lambda: all(p.status.phase == "Running" for p in core.list_namespaced_pod(namespace).items),
        what="pods running",
    )
    result = kubectl.run("drain", gpu_node, "--ignore-daemonsets", "--force", "--timeout=60s")
    assert "pod/train-0 evicted" in result.stdout and "pod/train-1 evicted" in result.stdout
    remaining = {p.metadata.name for p in core.list_namespaced_pod(namespace).items}
    assert remaining == {"train-2", "train-3"}
    kubectl.run("uncordon", gpu_node)

    core.create_namespaced_pod(
        namespace,
        gpu_pod_manifest(
            f"solo-{uuid.uuid4().hex[:4]}",
            namespace=namespace,
            labels={"app": "solo"},
            node_selector={"kubernetes.io/hostname": gpu_node},
        ),
    )
    policy.create_namespaced_pod_disruption_budget(
        namespace,
        {
            "metadata": {"name": "solo"},
            "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "solo"}}},
        },
    )
    wait_for(
        lambda: all(p.status.phase == "Running" for p in core.list_namespaced_pod(namespace).items),
        what="solo running",
    )
    blocked = kubectl.run("drain", gpu_node, "--ignore-daemonsets", "--force", "--timeout=3s", check=False)
    assert blocked.returncode != 0
    assert "disruption budget" in blocked.stderr
    assert len(core.list_namespaced_pod(namespace, label_selector="app=solo").items) == 1


@pytest.mark.slow
def test_drain_moves_deployment_pods_within_the_pdb(
    kubectl: Kubectl, api_client: client.ApiClient, namespace: str, gpu_node: str
) -> None:
    """Draining a node whose GPU pods belong to a Deployment needs no --force: evicted pods are
    replaced on another node, one at a time as the PDB allows, and the drain completes."""
    core, apps, policy = (
        client.CoreV1Api(api_client),
        client.AppsV1Api(api_client),
        client.PolicyV1Api(api_client),
    )
    other = "h100-0"
    kubectl.run("cordon", other)
    try:
        pod = gpu_pod_manifest(
            "x", namespace=namespace, labels={"app": "serve"}, node_selector={"gpuctl.dev/pool": "h100"}
        )
        apps.create_namespaced_deployment(
            namespace,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "serve"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "serve"}},
                    "template": {
                        "metadata": {"labels": {"app": "serve"}},
                        "spec": {**pod["spec"], "restartPolicy": "Always"},  # a Deployment's only choice
                    },
                },
            },
        )
        policy.create_namespaced_pod_disruption_budget(
            namespace,
            {
                "metadata": {"name": "serve"},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "serve"}}},
            },
        )

        def placed_on(node: str) -> bool:
            pods = core.list_namespaced_pod(namespace, label_selector="app=serve").items
            return len(pods) == 2 and all(
                p.status.phase == "Running" and p.spec.node_name == node for p in pods
            )

        wait_for(lambda: placed_on(gpu_node), timeout=60, what="pods on the node to drain")
    finally:
        kubectl.run("uncordon", other)
    result = kubectl.run("drain", gpu_node, "--ignore-daemonsets", "--timeout=90s")
    assert "evicted" in result.stdout
    wait_for(lambda: placed_on(other), timeout=60, what="pods moved to the other node")
