"""gpuctl installed from deploy/ as Pods on a real node: the image built here
(`sandbox.node.image`), a real control plane (`sandbox.controlplane`), a kubelet with
containerd (`sandbox.node`), and a desired-state repository the Pods fetch.

The repository reaches the Pods through a `git daemon` on the pod bridge's gateway address
(`git://`), the remote-fetch path of `gpuctl run` (clone into the cache volume, fetch on every
poll) over the pod network. A hostPath volume with a bare repository was tried first: git
refuses a repository owned by another user (`safe.directory`) on both sides, the Pod's user
fetching and root pushing, so one of them would need a trust exception the real install does
not have.

Used by tests/incluster/ and `python -m bench.incluster`."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import git
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from reconciler.source.loader import load_directory
from sandbox import SandboxSpec
from sandbox.controlplane import ControlPlane, assets_dir, start_control_plane
from sandbox.node.image import build_image, default_cache
from sandbox.node.image_spec import GPUCTL_IMAGE
from sandbox.node.node import RealNode, missing_tools, start_node
from sandbox.node.pause import build_pause_image
from sandbox.remote import GpuNodes
from tests.daemon.gitrepos import AUTHOR
from tests.incluster.overlay import ROOT, OverlayInputs, write_overlay

NAMESPACE = "gpuctl-system"
SELECTOR = "app.kubernetes.io/name=gpuctl"
IMAGE = "docker.io/library/gpuctl:incluster"
NODE = "node-1"
LEASE = "gpuctl-leader"
GIT_PORT = 9418
# The emulated GPU components run this many times faster than real ones: a MIG geometry
# change (45 s on real hardware) takes about 3 s.
GPU_SPEED = 15.0
MIG_STATE = "nvidia.com/mig.config.state"
MIG_CONFIG = "nvidia.com/mig.config"

SETTINGS = """apiVersion: gpuctl.dev/v1alpha1
kind: Settings
kubernetesVersion: "1.33"
namespace: gpuctl-system
allow:
  namespaces: ["team-*", "gpuctl-system"]
"""
TEAM = """apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: gpu-cap
  namespace: team-a
spec:
  hard:
    pods: "10"
"""


POOL_NODES = 4


def gpu_pool(mig_config: str) -> str:
    """The emulated GPU pool the MIG commits change: 4 one-GPU A100 nodes, one at a time."""
    return f"""apiVersion: gpuctl.dev/v1alpha1
kind: GPUNodePool
metadata:
  name: a100
spec:
  nodeSelector:
    matchLabels:
      gpuctl.dev/pool: a100
  gpu:
    model: A100-SXM4-80GB
    perNode: 1
  nodes: {POOL_NODES}
  mig:
    config: {mig_config}
    strategy: mixed
  taints:
    - key: nvidia.com/gpu
      value: present
      effect: NoSchedule
  rollout:
    maxUnavailable: 1
"""


def config_map(revision: str) -> str:
    """The ConfigMap the commits of the tests change."""
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gpu-settings\n  namespace: team-a\n"
        f"data:\n  revision: {revision}\n"
    )


def why_not() -> list[str]:
    """What this machine lacks for the in-cluster environment (empty when it can run)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root (mmdebstrap, containerd, a bridge and a DNAT rule)")
    assets = assets_dir()
    if assets is None:
        reasons.append("KUBEBUILDER_ASSETS does not name the control-plane binaries")
    elif not (assets / "kubelet").exists():
        reasons.append(f"no kubelet in KUBEBUILDER_ASSETS ({assets})")
    if missing := missing_tools() + [tool for tool in ("mmdebstrap", "gcc") if shutil.which(tool) is None]:
        reasons.append(f"missing Debian packages: {' '.join(missing)}")
    return reasons


@dataclass
class InCluster:
    plane: ControlPlane
    node: RealNode
    gpu_nodes: GpuNodes
    workdir: Path
    source: git.Repo
    bare: Path
    audit_dir: Path
    overlay: Path
    kubectl: list[str]
    core: k8s.CoreV1Api
    apps: k8s.AppsV1Api
    coordination: k8s.CoordinationV1Api

    def commit(self, files: dict[str, str], message: str) -> str:
        """Commit `files` (path → text) and push them to the bare repository the Pods fetch."""
        root = Path(self.source.working_tree_dir or ".")
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        self.source.index.add(list(files))
        sha = self.source.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha
        self.source.git.push("origin", "main")
        return sha

    def pods(self) -> list[k8s.V1Pod]:
        """gpuctl's Pods that are not being deleted."""
        items = self.core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR).items
        return [pod for pod in items if pod.metadata.deletion_timestamp is None]

    def ready_pods(self) -> list[k8s.V1Pod]:
        return [pod for pod in self.pods() if _ready(pod)]

    def leader(self) -> str | None:
        """The Lease holder's identity (the Pod's name, GPUCTL_IDENTITY)."""
        try:
            lease = self.coordination.read_namespaced_lease(LEASE, NAMESPACE)
        except k8s.ApiException:
            return None
        return str(lease.spec.holder_identity) if lease.spec.holder_identity else None

    def config_revision(self) -> str | None:
        try:
            return str(self.core.read_namespaced_config_map("gpu-settings", "team-a").data["revision"])
        except (k8s.ApiException, KeyError, TypeError):
            return None

    def pool_nodes(self) -> list[k8s.V1Node]:
        return list(self.core.list_node(label_selector="gpuctl.dev/pool=a100").items)

    def mig_done(self, config: str) -> int:
        """How many pool nodes run MIG config `config`, configured and uncordoned."""
        return sum(
            1 for node in self.pool_nodes()
            if (node.metadata.labels or {}).get(MIG_CONFIG) == config
            and (node.metadata.labels or {}).get(MIG_STATE) == "success"
            and not node.spec.unschedulable
        )

    def http_get(self, pod: k8s.V1Pod, path: str) -> str:
        """GET `path` from a Pod's port 8080 through its Pod IP (no kube-proxy here)."""
        with urllib.request.urlopen(f"http://{pod.status.pod_ip}:8080{path}", timeout=5) as reply:
            return str(reply.read().decode())

    def logs(self, pod_name: str) -> str:
        return self.node.container_log(NAMESPACE, pod_name, "gpuctl")

    def diagnostics(self) -> str:
        """Pods, their logs' tails and the kubelet's, for a failed wait."""
        parts = []
        for pod in self.core.list_namespaced_pod(NAMESPACE).items:
            phase = pod.status.phase
            parts.append(f"--- pod {pod.metadata.name} {phase} ready={_ready(pod)}")
            parts.append("\n".join(self.logs(pod.metadata.name).splitlines()[-12:]))
        parts.append("--- kubelet\n" + self.node.log("kubelet"))
        return "\n".join(parts)

    def wait(self, what: str, predicate: Callable[[], object], timeout_s: float = 120.0) -> float:
        """Wait until `predicate()` is truthy; returns the seconds it took. Fails with the
        Pods' state and logs after `timeout_s`."""
        start = time.monotonic()
        while not predicate():
            if time.monotonic() - start > timeout_s:
                waited = f"timed out after {timeout_s:.0f} s waiting for {what}"
                raise AssertionError(f"{waited}\n{self.diagnostics()}")
            time.sleep(0.2)
        return time.monotonic() - start

    def rss_bytes(self, pod: k8s.V1Pod) -> int:
        """Resident memory of the Pod's gpuctl process, read on the node's host."""
        container_id = pod.status.container_statuses[0].container_id.split("://", 1)[1]
        for line in self.node.ctr("tasks", "ls").splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == container_id:
                status = Path(f"/proc/{fields[1]}/status").read_text()
                kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
                return int(kib) * 1024
        raise LookupError(f"no running task for container {container_id}")


def _ready(pod: k8s.V1Pod) -> bool:
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _give_to_image_user(path: Path) -> None:
    """The Pods run as the image's user."""
    subprocess.run(["chown", "-R", f"{GPUCTL_IMAGE.uid}:{GPUCTL_IMAGE.gid}", str(path)], check=True)


def _source_repo(workdir: Path) -> tuple[git.Repo, Path]:
    source = git.Repo.init(workdir / "source", initial_branch="main")
    bare = workdir / "git" / "desired.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    source.create_remote("origin", str(bare))
    root = workdir / "source"
    files = {"gpuctl.yaml": SETTINGS, "team.yaml": TEAM, "config.yaml": config_map("one"),
             "pools/a100.yaml": gpu_pool("all-1g.10gb")}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    source.index.add(list(files))
    source.index.commit("team-a: namespace, quota and settings", author=AUTHOR, committer=AUTHOR)
    source.git.push("origin", "main")
    return source, bare


@contextlib.contextmanager
def _git_daemon(bare: Path, address: str, log: Path) -> Iterator[str]:
    """Serve the bare repository `bare` (and its siblings) read-only on `address`; yields the
    base URL."""
    base = bare.parent
    argv = ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}", f"--listen={address}",
            f"--port={GIT_PORT}", "--informative-errors", str(base)]
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["git", "ls-remote", f"git://{address}:{GIT_PORT}/{bare.name}"],
                             capture_output=True, check=False).returncode != 0:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"git daemon did not start: {log.read_text()}")
            time.sleep(0.1)
        yield f"git://{address}:{GIT_PORT}"
    finally:
        process.terminate()
        process.wait(10)


def _kubectl(assets: Path) -> list[str]:
    binary = assets / "kubectl"
    return [str(binary) if binary.exists() else "kubectl"]


@contextlib.contextmanager
def incluster_environment(workdir: Path) -> Iterator[InCluster]:
    """Build the image, start a control plane and a real node, and `kubectl apply -k` the
    test overlay of deploy/base (not waiting for the Pods)."""
    assets = assets_dir()
    if assets is None or why_not():
        raise RuntimeError("; ".join(why_not()))
    cache = default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    image = build_image(ROOT, workdir / "gpuctl-image.tar", cache, IMAGE)
    pause = build_pause_image(cache / "pause.tar")
    with contextlib.ExitStack() as stack:
        plane = stack.enter_context(start_control_plane(assets, workdir / "control-plane"))
        node = stack.enter_context(start_node(plane, assets / "kubelet", workdir / "node", name=NODE,
                                              images=(pause, image.archive)))
        source, bare = _source_repo(workdir)
        spec = SandboxSpec.from_state(load_directory(workdir / "source").state)
        gpu_nodes = stack.enter_context(GpuNodes(plane.kubeconfig, spec, speed=GPU_SPEED, heartbeat_s=5.0))
        daemon = _git_daemon(bare, node.network.gateway, workdir / "git-daemon.log")
        git_url = stack.enter_context(daemon)
        audit_dir = workdir / "audit"
        audit_dir.mkdir()
        # A hostPath volume ignores the Pod's fsGroup: give it to the image's user, as the
        # administrator of a local volume would.
        _give_to_image_user(audit_dir)
        inputs = OverlayInputs(IMAGE, f"{git_url}/{bare.name}", GIT_PORT, audit_dir, NODE)
        overlay = write_overlay(workdir / "kustomize", inputs)
        kubectl = [*_kubectl(assets), f"--kubeconfig={plane.kubeconfig}"]
        subprocess.run([*kubectl, "apply", "-k", str(overlay)], check=True, capture_output=True, text=True)
        api = k8s_config.new_client_from_config(str(plane.kubeconfig))
        yield InCluster(plane, node, gpu_nodes, workdir, source, bare, audit_dir, overlay, kubectl,
                        k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.CoordinationV1Api(api))

