"""A real node joining a `sandbox.controlplane` cluster: containerd (Debian's, with runc and
the CNI plugins) and a stock kubelet, images imported from OCI archives (no registry).

    with start_node(plane, kubelet, workdir, images=[gpuctl_tar]) as node:
        ...  # Pods with imagePullPolicy: Never run on node.name

Needs root (containerd, mounts, a bridge and one DNAT rule). Pods sit on a bridge
(`NodeNetwork`); there is no kube-proxy, so one DNAT rule sends the `kubernetes` Service
address (443) from the bridge to the apiserver on loopback (`route_localnet` on the bridge
only; IP forwarding stays off, pods reach this host and nothing else). The kubelet binds
loopback only, so the apiserver cannot reach it for `kubectl logs`: containers' logs are read
from `RealNode.pod_logs` on the host. Everything started is stopped, unmounted and removed on
exit, containers first. One node per machine at a time: the bridge's name and subnet are
fixed (`NodeNetwork`) and the kubelet owns the `kubepods` cgroups.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

# One started process with its log: the control plane's own helper.
from sandbox.controlplane import ControlPlane, _Component, free_port
from sandbox.controlplane_files import KUBERNETES_SERVICE_IP
from sandbox.node.files import NodeFiles, NodeNetwork, write_node_files

START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0  # waiting for ctr task deletions
HOST_TOOLS = ("containerd", "ctr", "runc", "ip", "iptables")
CNI_PLUGINS = Path("/usr/lib/cni")


class NodeError(RuntimeError):
    """The node could not start (a component exited, a tool is missing, or it never got Ready)."""


def missing_tools() -> list[str]:
    """The host tools a real node needs that are not installed (Debian package names)."""
    packages = {"containerd": "containerd", "ctr": "containerd", "runc": "runc", "ip": "iproute2",
                "iptables": "iptables"}
    missing = {packages[tool] for tool in HOST_TOOLS if shutil.which(tool) is None}
    if not (CNI_PLUGINS / "bridge").exists():
        missing.add("containernetworking-plugins")
    return sorted(missing)


def _run(argv: list[str], what: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        command = " ".join(argv)
        raise NodeError(f"{what} failed (exit {result.returncode}): {command}\n{result.stderr.strip()}")
    return result.stdout


@dataclass
class RealNode:
    """A running node: its name, containerd's socket and the processes behind it."""

    name: str
    files: NodeFiles
    network: NodeNetwork
    processes: list[_Component] = field(default_factory=list)

    def ctr(self, *args: str) -> str:
        """Run `ctr` in containerd's `k8s.io` namespace (the kubelet's)."""
        return _run(["ctr", "--address", str(self.files.containerd_socket), "-n", "k8s.io", *args], "ctr")

    def import_image(self, archive: Path) -> None:
        """Import an OCI image archive; Pods use it with `imagePullPolicy: Never`."""
        self.ctr("images", "import", str(archive))

    @property
    def pod_logs(self) -> Path:
        """The kubelet's `podLogsDir`: NAMESPACE_POD_UID/CONTAINER/RESTARTS.log."""
        return self.files.pod_logs

    def container_log(self, namespace: str, pod: str, container: str) -> str:
        """Everything the newest run of `container` of the pod wrote (CRI log lines)."""
        runs = sorted(self.pod_logs.glob(f"{namespace}_{pod}_*/{container}/*.log"),
                      key=lambda path: int(path.stem) if path.stem.isdigit() else -1)
        return runs[-1].read_text(errors="replace") if runs else ""

    def log(self, component: str) -> str:
        """The tail of `containerd`'s or `kubelet`'s log."""
        return next((p.tail(40) for p in self.processes if p.name == component), "")


def _launch(node: RealNode, name: str, argv: list[str]) -> _Component:
    log = node.files.directory / f"{name}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    started = _Component(name, process, log)
    node.processes.append(started)
    return started


def _wait(node: RealNode, what: str, ready: Callable[[], bool], deadline: float) -> None:
    while not ready():
        for started in node.processes:
            if started.process.poll() is not None:
                raise NodeError(f"{started.name} exited with {started.process.returncode} while waiting "
                                f"for {what}; last lines of {started.log}:\n{started.tail()}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name} ({p.log}):\n{p.tail(15)}" for p in node.processes)
            raise NodeError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def _nat_rule(network: NodeNetwork, api_port: int) -> list[str]:
    return ["PREROUTING", "-i", network.bridge, "-d", KUBERNETES_SERVICE_IP, "-p", "tcp", "--dport", "443",
            "-j", "DNAT", "--to-destination", f"127.0.0.1:{api_port}"]


@contextlib.contextmanager
def _pod_network(network: NodeNetwork, api_port: int) -> Iterator[None]:
    """The bridge with the pods' gateway address, and the DNAT rule to the apiserver."""
    prefix = network.subnet.split("/")[1]
    _run(["ip", "link", "add", network.bridge, "type", "bridge"], "creating the pod bridge")
    rule = _nat_rule(network, api_port)
    try:
        _run(["ip", "addr", "add", f"{network.gateway}/{prefix}", "dev", network.bridge], "bridge address")
        _run(["ip", "link", "set", network.bridge, "up"], "bridge up")
        Path(f"/proc/sys/net/ipv4/conf/{network.bridge}/route_localnet").write_text("1")
        _run(["iptables", "-t", "nat", "-A", *rule], "the DNAT rule to the apiserver")
        yield
    finally:
        subprocess.run(["iptables", "-t", "nat", "-D", *rule], capture_output=True, check=False)
        subprocess.run(["ip", "link", "delete", network.bridge], capture_output=True, check=False)


def _node_ready(plane: ControlPlane, name: str) -> bool:
    """Whether Node `name` reports the condition Ready=True (read with the admin certificate)."""
    try:
        with urllib.request.urlopen(f"{plane.url}/api/v1/nodes/{name}", context=plane.ssl_context(),
                                    timeout=5) as reply:
            node = json.load(reply)
    except (OSError, ValueError):
        return False
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _stop_containers(node: RealNode) -> None:
    """Kill and delete every container task, so no shim outlives the node."""
    with contextlib.suppress(NodeError):
        for line in node.ctr("tasks", "ls", "-q").split():
            subprocess.run(["ctr", "--address", str(node.files.containerd_socket), "-n", "k8s.io",
                            "tasks", "kill", "-s", "SIGKILL", line], capture_output=True, check=False)
        deadline = time.monotonic() + STOP_TIMEOUT
        while node.ctr("tasks", "ls", "-q").split() and time.monotonic() < deadline:
            for line in node.ctr("tasks", "ls", "-q").split():
                subprocess.run(["ctr", "--address", str(node.files.containerd_socket), "-n", "k8s.io",
                                "tasks", "delete", "-f", line], capture_output=True, check=False)
            time.sleep(0.2)


def _unmount_under(directory: Path) -> None:
    """Unmount what containerd and the kubelet left mounted below `directory`, deepest first."""
    prefix = str(directory.resolve())
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for target in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)


@contextlib.contextmanager
def start_node(
    plane: ControlPlane,
    kubelet: Path,
    workdir: Path,
    *,
    name: str = "node-1",
    images: tuple[Path, ...] = (),
    network: NodeNetwork | None = None,
) -> Iterator[RealNode]:
    """Start containerd and the kubelet as Node `name` of `plane`, import `images` (OCI
    archives, the pause image among them) and wait until the Node is Ready."""
    if os.geteuid() != 0:
        raise NodeError("a real node needs root (containerd, mounts, a bridge, a DNAT rule)")
    if missing := missing_tools():
        raise NodeError(f"missing Debian packages for a real node: {' '.join(missing)}")
    network = network or NodeNetwork()
    api_port = int(urlparse(plane.url).port or 443)
    files = write_node_files(workdir, network, free_port(), free_port())
    node = RealNode(name, files, network)
    deadline = time.monotonic() + START_TIMEOUT
    with _pod_network(network, api_port):
        try:
            _launch(node, "containerd", ["containerd", "--config", str(files.containerd_config)])
            _wait(node, "containerd's socket", files.containerd_socket.exists, deadline)
            for archive in images:
                node.import_image(archive)
            kubeconfig = plane.client_kubeconfig(f"system:node:{name}", ("system:nodes",))
            _launch(node, "kubelet", [
                str(kubelet), f"--config={files.kubelet_config}", f"--kubeconfig={kubeconfig}",
                f"--root-dir={files.kubelet_root}", f"--cert-dir={workdir / 'kubelet-pki'}",
                f"--hostname-override={name}", "--v=1",
            ])
            _wait(node, f"Node {name} Ready", lambda: _node_ready(plane, name), deadline)
            yield node
        finally:
            kubelet_process = [p for p in node.processes if p.name == "kubelet"]
            for started in kubelet_process:
                started.stop()
            if files.containerd_socket.exists():
                _stop_containers(node)
            for started in node.processes:
                started.stop()
            _unmount_under(workdir)
