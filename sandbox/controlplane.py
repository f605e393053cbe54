"""A real Kubernetes control plane on loopback for tests and benchmarks, found the way
controller-runtime's envtest finds it: `KUBEBUILDER_ASSETS` names a directory holding
`etcd` and `kube-apiserver` (and `kube-scheduler`, `kube-controller-manager` when present).

    assets = assets_dir()
    if assets is not None:
        with start_control_plane(assets, workdir) as plane:
            client = kubernetes.config.new_client_from_config(str(plane.kubeconfig))

Every start issues fresh certificates and keeps etcd's data, the kubeconfigs and each
component's log in `workdir`. Start-up waits on `/readyz` and on the `default`
ServiceAccount (when the controller manager runs), never on sleeps; a failed start raises
`ControlPlaneError` with the tail of the failing component's log. Components stop in
reverse order (scheduler, controller manager, apiserver, etcd). There is no kubelet: Nodes
are played by `gpuctl sandbox nodes` (or `sandbox.remote`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.controlplane_files import ControlPlaneFiles, write_files

ASSETS_ENV = "KUBEBUILDER_ASSETS"
REQUIRED = ("etcd", "kube-apiserver")
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
SERVICE_CIDR = "10.0.0.0/24"


class ControlPlaneError(RuntimeError):
    """The control plane could not start (a component exited or never became ready)."""


def assets_dir() -> Path | None:
    """The directory `KUBEBUILDER_ASSETS` names, when it holds `etcd` and `kube-apiserver`."""
    value = os.environ.get(ASSETS_ENV, "").strip()
    if not value:
        return None
    path = Path(value)
    if all(os.access(path / name, os.X_OK) for name in REQUIRED):
        return path
    return None


@dataclass
class _Component:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)


@dataclass
class ControlPlane:
    """A running control plane: its URL, the admin kubeconfig (`O=system:masters`) and CA."""

    url: str
    kubeconfig: Path
    ca_file: Path
    workdir: Path
    files: ControlPlaneFiles
    components: list[_Component] = field(default_factory=list)

    def client_kubeconfig(self, user: str, groups: tuple[str, ...] = ()) -> Path:
        """A kubeconfig for a client-certificate user (CN `user`, one O per group), to test
        what RBAC lets that identity do; e.g. a ServiceAccount is
        `system:serviceaccount:NS:NAME` in `system:serviceaccounts` and `system:serviceaccounts:NS`."""
        return self.files.client_kubeconfig(self.url, user, groups)

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS client context trusting the cluster CA and presenting the admin certificate."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(self.files.admin_cert, self.files.admin_key)
        return context

    def get(self, path: str) -> int:
        """The HTTP status of an admin GET of `path` (0 when the server cannot be reached)."""
        try:
            with urllib.request.urlopen(self.url + path, context=self.ssl_context(), timeout=5) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (OSError, ssl.SSLError):
            return 0

    def stop(self) -> None:
        """Stop every component, newest first."""
        for component in reversed(self.components):
            component.stop()
        self.components.clear()


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(plane: ControlPlane, name: str, argv: list[str]) -> _Component:
    log = plane.workdir / f"{name}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=plane.workdir
        )
    component = _Component(name, process, log)
    plane.components.append(component)
    return component


def _wait(plane: ControlPlane, what: str, ready: Callable[[], bool], deadline: float) -> None:
    while not ready():
        for component in plane.components:
            if component.process.poll() is not None:
                raise ControlPlaneError(
                    f"{component.name} exited with {component.process.returncode} while waiting for "
                    f"{what}; last lines of {component.log}:\n{component.tail()}"
                )
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {c.name} ({c.log}):\n{c.tail(10)}" for c in plane.components)
            raise ControlPlaneError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.1)


def _etcd_argv(assets: Path, files: ControlPlaneFiles) -> list[str]:
    return [str(assets / "etcd"), "--config-file", str(files.etcd_config)]


def _apiserver_argv(assets: Path, files: ControlPlaneFiles, etcd_url: str, port: int) -> list[str]:
    return [
        str(assets / "kube-apiserver"),
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={files.serving_cert}",
        f"--tls-private-key-file={files.serving_key}",
        f"--client-ca-file={files.ca_file}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={files.sa_public}",
        f"--service-account-signing-key-file={files.sa_private}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
    ]


def _controller_manager_argv(assets: Path, files: ControlPlaneFiles) -> list[str]:
    return [
        str(assets / "kube-controller-manager"),
        f"--kubeconfig={files.kubeconfig_for('kube-controller-manager')}",
        f"--service-account-private-key-file={files.sa_private}",
        f"--root-ca-file={files.ca_file}",
        "--use-service-account-credentials=true",
        "--controllers=*",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={free_port()}",
    ]


def _scheduler_argv(assets: Path, files: ControlPlaneFiles) -> list[str]:
    return [
        str(assets / "kube-scheduler"),
        f"--kubeconfig={files.kubeconfig_for('kube-scheduler')}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={free_port()}",
    ]


@contextlib.contextmanager
def start_control_plane(
    assets: Path, workdir: Path, *, scheduler: bool = True, controller_manager: bool = True
) -> Iterator[ControlPlane]:
    """Start etcd and kube-apiserver (and the scheduler and controller manager when asked
    and present in `assets`) on loopback, with fresh certificates and data in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    url = f"https://127.0.0.1:{api_port}"
    files = write_files(workdir, url, etcd_port=etcd_port, peer_port=peer_port)
    plane = ControlPlane(url, files.kubeconfig_for("admin"), files.ca_file, workdir, files)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        _launch(plane, "etcd", _etcd_argv(assets, files))
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        _wait(plane, "etcd", lambda: _http_ok(etcd_url + "/health"), deadline)
        _launch(plane, "kube-apiserver", _apiserver_argv(assets, files, etcd_url, api_port))
        _wait(plane, "kube-apiserver /readyz", lambda: plane.get("/readyz") == 200, deadline)
        if controller_manager and (assets / "kube-controller-manager").exists():
            _launch(plane, "kube-controller-manager", _controller_manager_argv(assets, files))
            default_sa = "/api/v1/namespaces/default/serviceaccounts/default"
            _wait(plane, "the default ServiceAccount", lambda: plane.get(default_sa) == 200, deadline)
        if scheduler and (assets / "kube-scheduler").exists():
            _launch(plane, "kube-scheduler", _scheduler_argv(assets, files))
        yield plane
    finally:
        plane.stop()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status) == 200
    except (OSError, urllib.error.URLError):
        return False
