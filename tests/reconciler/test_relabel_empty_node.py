"""A node is relabelled only once no GPU pod is bound to it, even when a scheduler that has not
yet seen the cordon binds an evicted pod's replacement back onto it."""

from __future__ import annotations

from typing import Any

from reconciler.apply.recorder import ChangeRecorder
from reconciler.rollout.pods import gpu_pods
from reconciler.rollout.runner import RolloutRunner
from reconciler.rollout.targets import MIG_CONFIG
from reconciler.testing import FakeCluster, ManualClock
from schemas.results import Action
from tests.reconciler.rollout_fixtures import MigManager, gpu_pod, node, pool


class LaggingScheduler(FakeCluster):
    """Evicting a pod creates its replacement unbound; the next sleep binds it to the node the
    evicted pod ran on (a scheduler whose cache still shows that node schedulable), `rebinds`
    times. Every relabel of mig.config is checked against the pods bound at that moment."""

    def __init__(self, objects: list[dict[str, Any]], rebinds: int) -> None:
        super().__init__(objects)
        self.rebinds = rebinds
        self.pending: list[dict[str, Any]] = []
        self.busy_relabels: list[str] = []

    def evict(self, namespace: str, name: str) -> bool:
        pod = self.get("v1", "Pod", name, namespace)
        evicted = super().evict(namespace, name)
        if evicted and pod is not None and self.rebinds > 0:
            self.rebinds -= 1
            replacement = gpu_pod(f"{name}-r", str(pod["spec"]["nodeName"]))
            self.pending.append(replacement)
        return evicted

    def bind_pending(self, _clock: ManualClock) -> None:
        for pod in self.pending:
            self.put(pod)
        self.pending.clear()

    def patch_node(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        if MIG_CONFIG in ((patch.get("metadata") or {}).get("labels") or {}) and gpu_pods(self, name):
            self.busy_relabels.append(name)
        return super().patch_node(name, patch)


def _run(rebinds: int) -> tuple[LaggingScheduler, Any]:
    cluster = LaggingScheduler([node("h100-0"), gpu_pod("train-0", "h100-0")], rebinds)
    clock = ManualClock()
    clock.on_sleep.extend([cluster.bind_pending, MigManager(cluster)])
    [report] = RolloutRunner(cluster, clock, ChangeRecorder()).run([pool(max_unavailable=1)])
    return cluster, report


def test_replacement_bound_after_the_evictions_is_evicted_before_relabel() -> None:
    """The replacement bound after the drain looked empty is evicted too; relabel only on an empty node."""
    cluster, report = _run(rebinds=1)
    assert report.rolled == ["h100-0"]
    assert cluster.busy_relabels == []
    assert cluster.get("v1", "Pod", "train-0-r", "ml") is None
    assert cluster.node("h100-0")["metadata"]["labels"][MIG_CONFIG] == "all-1g.10gb"


def test_every_arrival_is_evicted_until_the_node_stays_empty() -> None:
    """Three replacements in a row land on the node: each is evicted, and the relabel waits for all."""
    cluster, report = _run(rebinds=3)
    evicted = [w for w in cluster.writes if w[0] == "evict"]
    assert len(evicted) == 4
    assert cluster.busy_relabels == [] and report.rolled == ["h100-0"]


def test_node_without_gpu_pods_is_relabelled_after_the_settle_time() -> None:
    """A node that was empty from the start is relabelled once it has been seen empty past the settle time."""
    cluster = FakeCluster([node("h100-0")])
    clock = ManualClock()
    clock.on_sleep.append(MigManager(cluster))
    recorder = ChangeRecorder()
    [report] = RolloutRunner(cluster, clock, recorder).run([pool(max_unavailable=1)])
    assert report.rolled == ["h100-0"]
    actions = [e.action for e in recorder.changes.entries]
    assert actions[:2] == [Action.CORDONED, Action.RELABELLED]
    assert clock.slept >= 1.0
