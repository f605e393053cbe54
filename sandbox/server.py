"""The sandbox cluster: wires storage, the API verbs, discovery and CRDs, the emulated GPU
components and the HTTP server, writes a kubeconfig, and stops it all again.

`start()` returns a running `Sandbox`, usable as a context manager.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from sandbox.api.builtin import builtin_types
from sandbox.api.crds import CrdController, preinstalled
from sandbox.api.handlers import Api, Request
from sandbox.api.http import SandboxHTTPServer, ServerContext
from sandbox.api.omitempty import OmitEmpty
from sandbox.api.resources import Registry
from sandbox.api.store import Store
from sandbox.clock import SandboxClock
from sandbox.faults import Faults
from sandbox.gpu.disruption import DisruptionController
from sandbox.gpu.jobs import JobController
from sandbox.gpu.kubelet import Kubelet
from sandbox.gpu.loop import ControllerLoop
from sandbox.gpu.namespaces import NamespaceDefaults
from sandbox.gpu.node_agent import NodeAgents
from sandbox.gpu.port import LocalPort
from sandbox.gpu.replication import ReplicationControllers
from sandbox.gpu.scheduler import Scheduler
from sandbox.spec import SandboxSpec
from sandbox.stats import RequestStats
from sandbox.tls import issue
from sandbox.workloads import gpu_pod_batch

CONTEXT = "gpuctl-sandbox"
EXTRA_NAMESPACES = ("gpu-operator",)


class Sandbox:
    """A running sandbox cluster."""

    def __init__(
        self,
        spec: SandboxSpec,
        *,
        speed: float,
        host: str,
        port: int,
        kubeconfig_path: Path | None = None,
        tls: bool = True,
    ) -> None:
        self.spec = spec
        self.clock = SandboxClock(speed)
        self.faults = Faults()
        self.stats = RequestStats()
        self.token = secrets.token_urlsafe(24)
        self.registry = Registry()
        for rtype in builtin_types():
            self.registry.add(rtype)
        self.store = Store(history=spec.watch_history)
        self.api = Api(self.registry, self.store, self.clock)
        self.api.hooks.append(CrdController(self.registry, self.store, self.clock))
        self.api.hooks.append(OmitEmpty())
        self.api.ensure_namespaces()
        self.api.ensure_namespaces(EXTRA_NAMESPACES)
        crd_type = self.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crd_type is not None
        for crd in preinstalled():
            self.api.create(Request(crd_type, user_agent="kube-apiserver"), crd)
        # The cluster CA exists with or without TLS: the root-ca-cert-publisher publishes it.
        self.certificate = issue(host)
        local = LocalPort(self.api)
        self._nodes = NodeAgents(local, spec, self.faults)
        self._nodes.create_nodes()
        namespace_defaults = NamespaceDefaults(self.api, self.certificate.ca_pem)
        namespace_defaults.reconcile(self.clock.now())  # the namespaces of a cluster already up
        self._controllers = ControllerLoop(
            self.store,
            self.clock,
            [
                self._nodes,
                Scheduler(self.api, self.clock),
                Kubelet(local, self.clock, spec.timings),
                DisruptionController(self.api, self.clock),
                ReplicationControllers(self.api, self.clock),
                JobController(self.api, self.clock),
                namespace_defaults,
            ],
        )
        self._context = ServerContext(self.api, self.token, self.faults, self.stats)
        self._tempdir = tempfile.TemporaryDirectory(prefix="gpuctl-sandbox-")
        self._tls = tls
        server_tls = self.certificate.server_context(Path(self._tempdir.name)) if tls else None
        self._server = SandboxHTTPServer((host, port), self._context, server_tls)
        bound_host, bound_port = str(self._server.server_address[0]), int(self._server.server_address[1])
        # A wildcard bind is reached through loopback (also what the certificate names).
        client_host = "127.0.0.1" if bound_host in ("0.0.0.0", "::") else bound_host
        self.url = f"{'https' if tls else 'http'}://{client_host}:{bound_port}"
        self._context.address = f"{bound_host}:{bound_port}"
        if kubeconfig_path is None:
            kubeconfig_path = Path(self._tempdir.name) / "kubeconfig"
        self.kubeconfig_path = kubeconfig_path
        self._write_kubeconfig()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._stopped = False

    def _start(self) -> None:
        self._thread.start()
        self._controllers.start()

    # ------------------------------------------------------------------ public API
    @property
    def write_count(self) -> int:
        """API requests that write (create, update, patch, delete; dry runs excluded)."""
        return self.stats.write_count

    @property
    def requests(self) -> Counter[str]:
        """Requests served, by verb (get, list, watch, create, update, patch, delete, ...)."""
        return Counter(self.stats.by_verb)

    def kubeconfig(self) -> dict[str, Any]:
        """The kubeconfig document (token auth; the sandbox's CA when serving TLS)."""
        cluster: dict[str, Any] = {"server": self.url}
        if self._tls:
            cluster["certificate-authority-data"] = self.certificate.ca_data
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": CONTEXT, "cluster": cluster}],
            "users": [{"name": CONTEXT, "user": {"token": self.token}}],
            "contexts": [
                {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}
            ],
            "current-context": CONTEXT,
            "preferences": {},
        }

    def launch_gpu_pods(self, prefix: str, count: int, **options: Any) -> list[str]:
        """Create `count` GPU pods in-process (see `sandbox.workloads.gpu_pod_manifest`)."""
        pod_type = self.registry.lookup("", "v1", "pods")
        assert pod_type is not None
        names = []
        for manifest in gpu_pod_batch(prefix, count, **options):
            created = self.api.create(
                Request(
                    pod_type, manifest["metadata"]["namespace"], params={"fieldManager": "gpuctl-sandbox"}
                ),
                manifest,
            )
            names.append(created["metadata"]["name"])
        return names

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._controllers.stop()
        self.store.close()
        self._server.shutdown()
        self._server.server_close()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _write_kubeconfig(self) -> None:
        self.kubeconfig_path.parent.mkdir(parents=True, exist_ok=True)
        self.kubeconfig_path.write_text(yaml.safe_dump(self.kubeconfig(), sort_keys=False), encoding="utf-8")
        self.kubeconfig_path.chmod(0o600)


def start(
    spec: SandboxSpec | None = None,
    *,
    speed: float = 1.0,
    host: str = "127.0.0.1",
    port: int = 0,
    kubeconfig_path: Path | None = None,
    tls: bool = True,
) -> Sandbox:
    """Start a sandbox cluster serving on `host:port` (0 = any free port). Over plain HTTP
    (`tls=False`) kubectl will not send the token; the Python client will."""
    sandbox = Sandbox(
        spec or SandboxSpec(), speed=speed, host=host, port=port, kubeconfig_path=kubeconfig_path, tls=tls
    )
    sandbox._start()
    return sandbox
