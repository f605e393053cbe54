"""The API server a benchmark runs against: the embedded sandbox, or a real control plane
(etcd, kube-apiserver, controller manager, scheduler from `KUBEBUILDER_ASSETS`), so that
`--backend real` prints the same figures as the sandbox, side by side with `--backend both`.

Writes are counted at the server on the sandbox, and at gpuctl's client on a real server
(POST/PUT/PATCH/DELETE requests sent)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import sandbox
from reconciler.cluster import KubeClusterClient
from sandbox.controlplane import ASSETS_ENV, assets_dir, start_control_plane
from sandbox.remote import GpuNodes
from sandbox.remote.operators import install_operators
from schemas.desired import DesiredState

BACKENDS = ("sandbox", "real")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    backend: str
    kubeconfig: Path
    writes: Callable[[KubeClusterClient], int]


def chosen(backend: str) -> tuple[str, ...]:
    """The backends of `--backend` (`both`: the sandbox, then the real server)."""
    return BACKENDS if backend == "both" else (backend,)


def _client_writes(client: KubeClusterClient) -> int:
    return sum(client.requests.get(method, 0) for method in WRITE_METHODS)


def _require_assets() -> Path:
    assets = assets_dir()
    if assets is None:
        raise SystemExit(f"--backend real needs {ASSETS_ENV}: a directory holding etcd and kube-apiserver")
    return assets


@contextmanager
def api_server(backend: str) -> Iterator[Server]:
    """An empty cluster of `backend` (no GPU nodes)."""
    if backend == "sandbox":
        with sandbox.start() as sb:
            yield Server(backend, sb.kubeconfig_path, lambda _client: sb.write_count)
        return
    assets = _require_assets()
    with (
        tempfile.TemporaryDirectory(prefix="gpuctl-bench-") as tmp,
        start_control_plane(assets, Path(tmp)) as plane,
    ):
        yield Server(backend, plane.kubeconfig, _client_writes)


@contextmanager
def gpu_cluster(backend: str, pools: Path, speed: float, workdir: Path) -> Iterator[Path]:
    """A cluster with the GPU nodes of the pools in `pools`, its GPU components in their own
    process (`gpuctl sandbox` or `gpuctl sandbox nodes`), as an API server would be, so that
    they do not share the measured process's interpreter lock. Yields the kubeconfig."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if backend == "sandbox":
        kubeconfig = workdir / "kubeconfig"
        command = [sys.executable, "-m", "gpuctl", "sandbox", "--pools", str(pools),
                   "--kubeconfig-out", str(kubeconfig), "--speed", str(speed)]  # fmt: skip
        with _serving(command, env):
            yield kubeconfig
        return
    assets = _require_assets()
    with start_control_plane(assets, workdir / "control-plane") as plane:
        command = [sys.executable, "-m", "gpuctl", "sandbox", "nodes", "--kubeconfig", str(plane.kubeconfig),
                   "--pools", str(pools), "--speed", str(speed)]  # fmt: skip
        with _serving(command, env):
            yield plane.kubeconfig


@contextmanager
def _serving(command: list[str], env: dict[str, str]) -> Iterator[None]:
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        server.terminate()
        server.wait(30)


class WriteCounter(Protocol):
    """Write requests seen so far, and the cluster's kubeconfig."""

    @property
    def write_count(self) -> int: ...

    @property
    def kubeconfig_path(self) -> Path: ...


@dataclass
class ClientWrites:
    """Writes counted at gpuctl's client (a real server's counters include every heartbeat)."""

    client: KubeClusterClient
    cluster: WriteCounter

    @property
    def write_count(self) -> int:
        return _client_writes(self.client)

    @property
    def kubeconfig_path(self) -> Path:
        return self.cluster.kubeconfig_path


@dataclass
class RealCluster:
    kubeconfig_path: Path
    write_count: int = 0  # not counted here: see ClientWrites


@contextmanager
def cluster_for(backend: str, state: DesiredState | None, workdir: Path) -> Iterator[WriteCounter]:
    """A cluster with `state`'s pools: the embedded sandbox, or a fresh real control plane with
    the operators' CRDs and the pools' GPU nodes (heartbeating, in this process)."""
    spec = sandbox.SandboxSpec.from_state(state) if state else sandbox.SandboxSpec()
    if backend == "sandbox":
        with sandbox.start(spec) as sb:
            yield sb
        return
    with start_control_plane(_require_assets(), workdir / "control-plane") as plane:
        install_operators(plane.kubeconfig)
        with GpuNodes(plane.kubeconfig, spec):
            yield RealCluster(plane.kubeconfig)
