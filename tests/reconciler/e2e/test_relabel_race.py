"""The MIG relabel race with a real scheduler and ReplicaSet controller: a node is relabelled
only once no GPU pod is bound to it, and the pods that arrived since the evictions are evicted
too. On the real backend the control plane's kube-scheduler and controller manager recreate
and bind the evicted pod's replacement while `sandbox.remote.GpuNodes` plays the GPU node;
on the sandbox its own controllers do. Runs on the shared control plane (unique pool and
namespace), not a fresh one.

Whether a GPU pod was bound at the relabel is judged by an independent observer (its own
watches of the node and of the pods bound to it, `bound_intervals.NodeObserver`), not by a
list taken at relabel time: a list misses a pod that is still terminating or was bound a
moment later than the list. Pods take a second to terminate (grace period 30 s, the kubelet
stand-in finishes them after its termination delay), as real containers do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from kubernetes import client as k8s

import sandbox
from reconciler.apply.recorder import ChangeRecorder
from reconciler.clock import SystemClock
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.cluster.connection import api_client_for
from reconciler.rollout.runner import RolloutRunner
from reconciler.rollout.targets import MIG_CONFIG, MIG_CONFIG_STATE
from sandbox import GpuTimings
from sandbox.remote import GpuNodes
from schemas.kinds import GPUNodePool
from tests.conformance.helpers import wait_for
from tests.reconciler.e2e.bound_intervals import NodeObserver

pytestmark = pytest.mark.slow

# The replacement tolerates the cordon's taint, so the scheduler binds it back onto the
# cordoned node every time: the race's worst outcome, made certain instead of likely.
TOLERATE_CORDON = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
EVICTIONS_BEFORE_SCALE_DOWN = 3
SPEED = 50.0
# A terminating pod stays bound this long (sandbox seconds: one real second at SPEED), as a
# container that takes its time to stop; the pod's grace period is longer.
TERMINATION_S, GRACE_PERIOD_S = SPEED * 1.0, 30


def _pool(name: str, mig: str) -> GPUNodePool:
    return GPUNodePool.model_validate({
        "apiVersion": "gpuctl.dev/v1alpha1", "kind": "GPUNodePool", "metadata": {"name": name},
        "spec": {"nodeSelector": {"matchLabels": {"gpuctl.dev/pool": name}},
                 "gpu": {"model": "H100-SXM5-80GB", "perNode": 8}, "nodes": 1,
                 "mig": {"config": mig, "strategy": "mixed"},
                 "rollout": {"maxUnavailable": 1, "drainTimeout": "120s", "migTimeout": "120s"}},
    })  # fmt: skip


class WatchedClient(KubeClusterClient):
    """gpuctl's client, counting its evictions; after `EVICTIONS_BEFORE_SCALE_DOWN` of them it
    scales the ReplicaSet to 0 (the owner gives up), so that the node can empty."""

    def __init__(self, api: k8s.ApiClient, namespace: str, replica_set: str) -> None:
        super().__init__(api)
        self.namespace, self.replica_set = namespace, replica_set
        self.evicted: list[str] = []

    def evict_explained(self, namespace: str, name: str) -> str | None:
        refusal = super().evict_explained(namespace, name)
        if refusal is None:
            self.evicted.append(name)
            if len(self.evicted) == EVICTIONS_BEFORE_SCALE_DOWN:
                apps = k8s.AppsV1Api(self._api)
                apps.patch_namespaced_replica_set(self.replica_set, self.namespace, {"spec": {"replicas": 0}})
        return refusal


def _replica_set(name: str, pool: str) -> dict[str, Any]:
    labels = {"app": name}
    pod_spec = {
        "containers": [{"name": "train", "image": "trainer",
                        "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
        "nodeSelector": {"gpuctl.dev/pool": pool},
        "tolerations": [TOLERATE_CORDON],
        "terminationGracePeriodSeconds": GRACE_PERIOD_S,
    }  # fmt: skip
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": pod_spec}},
    }  # fmt: skip


Race = tuple[WatchedClient, NodeObserver, GPUNodePool, str]


@pytest.fixture
def race(backend: str, request: pytest.FixtureRequest) -> Iterator[Race]:
    """A one-node GPU pool on `backend` running one GPU pod of a ReplicaSet; yields the watched
    client, an observer of the node (its own connection), the pool and the node's name."""
    suffix = uuid.uuid4().hex[:6]
    pool, namespace = _pool(f"race-{suffix}", "all-disabled"), f"race-{suffix}"
    spec = sandbox.SandboxSpec(pools=[pool], timings=GpuTimings(pod_termination_s=TERMINATION_S))
    with ExitStack() as stack:
        if backend == "real":
            kubeconfig = request.getfixturevalue("control_plane").kubeconfig
            stack.enter_context(GpuNodes(kubeconfig, spec, speed=SPEED, delete_on_stop=True))
        else:
            kubeconfig = stack.enter_context(sandbox.start(spec, speed=SPEED)).kubeconfig_path
        api = api_client_for(ConnectionSpec(kubeconfig=str(kubeconfig)))
        stack.callback(api.close)
        core = k8s.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": namespace}})
        stack.callback(core.delete_namespace, namespace)
        if backend == "real":  # Pods are admitted once the namespace's ServiceAccount exists.
            wait_for(lambda: core.list_namespaced_service_account(namespace).items, what="a ServiceAccount")
        k8s.AppsV1Api(api).create_namespaced_replica_set(namespace, _replica_set("train", pool.metadata.name))
        node = f"{pool.metadata.name}-0"

        def running() -> bool:
            pods = core.list_namespaced_pod(namespace).items
            return any(p.spec.node_name == node and p.status.phase == "Running" for p in pods)

        wait_for(running, 60, what="the ReplicaSet's pod Running on the node")
        watched = WatchedClient(api, namespace, "train")
        observer_api = api_client_for(ConnectionSpec(kubeconfig=str(kubeconfig)))
        stack.callback(observer_api.close)
        observer = NodeObserver(observer_api, node)
        stack.callback(observer.stop)
        yield watched, observer, pool, node


def test_replacements_bound_after_the_evictions_are_evicted_before_the_relabel(race) -> None:
    """No relabel of mig.config falls inside an interval, seen by an independent watch, in
    which a GPU pod (terminating ones included) was bound to the node; each replacement bound
    there is evicted in turn, and the rollout completes."""
    watched, observer, pool, node = race
    target = _pool(pool.metadata.name, "all-1g.10gb")
    [report] = RolloutRunner(watched, SystemClock(), ChangeRecorder(), poll_interval=0.5).run([target])
    live = watched.get("v1", "Node", node)
    assert live is not None
    # The observer has caught up: it has seen the node's last write, and its open intervals
    # are the GPU pods a fresh list shows bound to the node.
    final = int(live["metadata"]["resourceVersion"])
    wait_for(lambda: observer.node_revision >= final or observer.errors, 30, what="the node watch")

    def caught_up() -> bool:
        pods = k8s.CoreV1Api(watched._api).list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}")
        return observer.still_bound() == {p.metadata.name for p in pods.items} or bool(observer.errors)

    wait_for(caught_up, 30, what="the pod watch to catch up")
    observer.stop()
    assert observer.errors == []
    assert [r.value for r in observer.relabels] == ["all-1g.10gb"]
    busy = [(r.revision, [(b.pod, b.since, b.until) for b in held]) for r, held in observer.busy_relabels()]
    assert busy == [], f"relabelled while GPU pods were bound (revision, [(pod, bound from, until)]): {busy}"
    assert report.rolled == [node], (report.failed, watched.evicted)
    assert len(watched.evicted) >= EVICTIONS_BEFORE_SCALE_DOWN
    assert len(set(watched.evicted)) == len(watched.evicted)  # each eviction hit a new replacement
    assert len(observer.intervals) > EVICTIONS_BEFORE_SCALE_DOWN  # the replacements were bound there
    labels = live["metadata"]["labels"]
    assert (labels[MIG_CONFIG], labels[MIG_CONFIG_STATE]) == ("all-1g.10gb", "success")
    assert not live["spec"].get("unschedulable")
