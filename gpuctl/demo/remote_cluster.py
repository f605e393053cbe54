"""The demo's cluster on an API server it did not start (a kubeconfig): the operators' CRDs
installed, the pools' GPU nodes played by `sandbox.remote.GpuNodes`, and the inference jobs
created through the API. It answers what the steps ask of the embedded sandbox
(`kubeconfig_path`, `url`, `launch_gpu_pods`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gpuctl.demo.errors import DemoFailure
from reconciler.cluster import ConnectionSpec, KubeClusterClient

# A namespace's Pods are refused until its ServiceAccount exists (a fresh cluster's controller
# manager creates `default` a few seconds after start-up).
SERVICE_ACCOUNT_TIMEOUT_S = 30.0


class RemoteCluster:
    """GPU nodes for `spec`'s pools on the API server of `kubeconfig`, until `stop()`."""

    def __init__(self, kubeconfig: Path, spec: Any, *, speed: float) -> None:
        from sandbox.remote import GpuNodes
        from sandbox.remote.operators import install_operators

        self.kubeconfig_path = kubeconfig
        install_operators(kubeconfig)
        self._client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(kubeconfig)))
        self.url = self._client.server
        self._nodes = GpuNodes(kubeconfig, spec, speed=speed, delete_on_stop=True)
        try:
            self._nodes.start()
        except BaseException:
            self._client.close()
            raise

    def launch_gpu_pods(self, prefix: str, count: int, **options: Any) -> list[str]:
        """Create `count` GPU pods through the API (see `sandbox.workloads.gpu_pod_manifest`)."""
        from sandbox.workloads import gpu_pod_batch

        names = []
        for manifest in gpu_pod_batch(prefix, count, **options):
            self._await_service_account(str(manifest["metadata"]["namespace"]))
            created = self._client.apply(manifest)
            names.append(str(created["metadata"]["name"]))
        return names

    def _await_service_account(self, namespace: str) -> None:
        deadline = time.monotonic() + SERVICE_ACCOUNT_TIMEOUT_S
        while not self._client.list_objects("v1", "ServiceAccount", namespace=namespace):
            if time.monotonic() > deadline:
                raise DemoFailure(f"namespace {namespace} has no ServiceAccount after "
                                  f"{SERVICE_ACCOUNT_TIMEOUT_S:g} s: is the controller manager running?")
            time.sleep(0.2)

    def stop(self) -> None:
        try:
            self._nodes.stop()
        finally:
            self._client.close()
