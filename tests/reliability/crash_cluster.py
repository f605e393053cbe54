"""The cluster of a crash test, on either backend: the sandbox built from the repository's
pools, or the shared real control plane with those pools' GPU nodes played by
`sandbox.remote.GpuNodes`. Everything the tests read goes through the API (the same code on
both backends); names carry the test's prefix, so tests sharing a control plane never see
each other's nodes, namespaces, inventory or Lease."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import SandboxSpec
from sandbox.controlplane import ControlPlane
from sandbox.remote import GpuNodes
from sandbox.remote.operators import install_operators
from sandbox.remote.rest import Rest, RestError, path_of
from sandbox.workloads import gpu_pod_manifest
from tests.reliability.cluster_writes import CONFIGMAPS, NODES, PODS, QUOTAS
from tests.reliability.rig import GitRepo, all_rolled_out, sandbox_for, wait_until

Obj = dict[str, Any]
NAMESPACES = ("", "namespaces")
SERVICE_ACCOUNTS = ("", "serviceaccounts")


def unique_prefix() -> str:
    """A name prefix no other test on the same control plane uses (a DNS label start)."""
    return f"c{uuid.uuid4().hex[:6]}-"


@dataclass
class CrashCluster:
    """A cluster for one crash test and plain reads of it through its API server."""

    backend: str
    kubeconfig: Path
    rest: Rest

    def get(self, resource: tuple[str, str], namespace: str, name: str) -> Obj | None:
        try:
            return self.rest.request("GET", path_of(resource, namespace, name))
        except RestError as exc:
            if exc.code == 404:
                return None
            raise

    def list(self, resource: tuple[str, str], namespace: str = "") -> list[Obj]:
        items: list[Obj] = self.rest.request("GET", path_of(resource, namespace)).get("items") or []
        return items

    def ensure_namespace(self, name: str) -> None:
        """Create namespace `name` if absent, and wait until Pods can be created in it (a real
        server admits them once its `default` ServiceAccount exists)."""
        if self.get(NAMESPACES, "", name) is None:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            self.rest.request("POST", path_of(NAMESPACES), body)
        if self.backend == "real":
            assert wait_until(lambda: self.get(SERVICE_ACCOUNTS, name, "default") is not None, 60), name

    def pool_nodes(self, pool: str) -> list[Obj]:
        return [n for n in self.list(NODES)
                if (n["metadata"].get("labels") or {}).get("gpuctl.dev/pool") == pool]

    def rolled_out(self, pool: str, mig: str) -> bool:
        """Every node of `pool` runs `mig` (MIG manager: success), none cordoned, no rollout left."""
        return all_rolled_out(self.pool_nodes(pool), mig)

    def launch_pod(self, namespace: str, name: str, node: str, resource: str) -> None:
        """A never-ending pod asking for one `resource`, pinned to `node`."""
        manifest = gpu_pod_manifest(name, namespace=namespace, resource=resource,
                                    node_selector={"kubernetes.io/hostname": node})
        self.rest.request("POST", path_of(PODS, namespace), manifest)

    def pod_running(self, namespace: str, name: str) -> bool:
        return ((self.get(PODS, namespace, name) or {}).get("status") or {}).get("phase") == "Running"

    def pod_gone(self, namespace: str, name: str) -> bool:
        return self.get(PODS, namespace, name) is None

    def configmap_names(self, namespace_prefix: str, name_prefix: str) -> set[str]:
        return {o["metadata"]["name"] for o in self.list(CONFIGMAPS)
                if o["metadata"]["namespace"].startswith(namespace_prefix)
                and o["metadata"]["name"].startswith(name_prefix)}

    def quota(self, namespace: str, name: str) -> Obj | None:
        return self.get(QUOTAS, namespace, name)


@contextmanager
def crash_cluster(
    backend: str, repo: GitRepo, plane: ControlPlane | None, speed: float
) -> Iterator[CrashCluster]:
    """A cluster with `repo`'s pools on `backend` (`plane`: the real control plane to use)."""
    with ExitStack() as stack:
        if backend == "sandbox":
            kubeconfig = stack.enter_context(sandbox_for(repo, speed)).kubeconfig_path
        else:
            assert plane is not None, "the real backend needs a control plane"
            install_operators(plane.kubeconfig)
            state = repo.loaded_state()
            stack.enter_context(GpuNodes(plane.kubeconfig, SandboxSpec.from_state(state), speed=speed,
                                         delete_on_stop=True))
            kubeconfig = plane.kubeconfig
        rest = Rest(kubeconfig)
        stack.callback(rest.close)
        yield CrashCluster(backend, kubeconfig, rest)
