"""Helpers for end-to-end tests of the engine against the sandbox API server: a Clock on the
sandbox's (faster) time, pool edits, and one-call reconcile passes."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sandbox
from gpuctl.cli.cluster_options import load
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.pipeline import ReconcileOptions, ReconcileResult, reconcile
from reconciler.protocols import AuditSink
from schemas.desired import DesiredState
from schemas.results import RevisionInfo

REPO = Path(__file__).resolve().parents[3] / "desired_state"


class SandboxTime:
    """The engine's Clock on sandbox time: pool timeouts pass `speed` times faster."""

    def __init__(self, clock: sandbox.SandboxClock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(self.clock.real_seconds(seconds))


def example_state() -> DesiredState:
    return load(REPO)


def with_pool(state: DesiredState, name: str, *, mig: str | None = None, **rollout: Any) -> DesiredState:
    """A copy of `state` whose pool `name` has another MIG config and/or rollout settings."""
    pools = []
    for pool in state.pools:
        if pool.metadata.name != name:
            pools.append(pool)
            continue
        spec = pool.spec
        if mig is not None:
            spec = spec.model_copy(update={"mig": spec.mig.model_copy(update={"config": mig})})
        if rollout:
            spec = spec.model_copy(update={"rollout": spec.rollout.model_copy(update=rollout)})
        pools.append(pool.model_copy(update={"spec": spec}))
    changed = copy.copy(state)
    changed.pools = pools
    return changed


@contextmanager
def running(
    state: DesiredState, *, speed: float = 200.0
) -> Iterator[tuple[sandbox.Sandbox, KubeClusterClient]]:
    with sandbox.start(sandbox.SandboxSpec.from_state(state), speed=speed) as sb:
        client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(sb.kubeconfig_path)))
        try:
            yield sb, client
        finally:
            client.close()


def run(
    state: DesiredState,
    sb: sandbox.Sandbox,
    client: KubeClusterClient,
    audit: AuditSink | None = None,
    **options: Any,
) -> ReconcileResult:
    options.setdefault("poll_interval", 1.0)
    return reconcile(
        state,
        client,
        clock=SandboxTime(sb.clock),
        revision=RevisionInfo("e2e", author="tester", message="e2e"),
        audit=audit,
        options=ReconcileOptions(**options),
    )


def pool_nodes(client: KubeClusterClient, pool: str) -> list[dict[str, Any]]:
    return client.list_objects("v1", "Node", label_selector=f"gpuctl.dev/pool={pool}")


class NodeWatcher:
    """Watches Nodes through the API (a real watch stream) and records the most nodes of one
    pool that were unschedulable at the same moment."""

    def __init__(self, sb: sandbox.Sandbox | Path, pool: str) -> None:
        from kubernetes import client as k8s
        from kubernetes import config

        kubeconfig = sb if isinstance(sb, Path) else sb.kubeconfig_path
        self._api = config.new_client_from_config(str(kubeconfig))
        self._core = k8s.CoreV1Api(self._api)
        self.pool = pool
        self.cordoned: set[str] = set()
        self.max_cordoned = 0
        self.events = 0
        self._stop = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> NodeWatcher:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)
        self._stop = True
        self._thread.join(10)
        self._api.close()

    def _run(self) -> None:
        from kubernetes import watch

        version = self._core.list_node().metadata.resource_version
        self._ready.set()
        while not self._stop:
            stream = watch.Watch()
            for event in stream.stream(self._core.list_node, resource_version=version, timeout_seconds=1):
                node = event["object"]
                version = node.metadata.resource_version
                if (node.metadata.labels or {}).get("gpuctl.dev/pool") != self.pool:
                    continue
                self.events += 1
                if node.spec.unschedulable:
                    self.cordoned.add(node.metadata.name)
                else:
                    self.cordoned.discard(node.metadata.name)
                self.max_cordoned = max(self.max_cordoned, len(self.cordoned))
                if self._stop:
                    stream.stop()
