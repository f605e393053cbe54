"""Shared builders for rollout unit tests: pools, nodes, GPU pods and a MIG manager stand-in."""

from __future__ import annotations

from typing import Any

from reconciler.rollout.targets import MIG_CONFIG, MIG_CONFIG_STATE
from reconciler.testing import FakeCluster, ManualClock
from schemas.kinds import GPUNodePool


def pool(
    name: str = "h100",
    mig: str = "all-1g.10gb",
    max_unavailable: int | str = 2,
    *,
    taints: list[dict[str, str]] | None = None,
    device_plugin: str | None = None,
    **rollout: Any,
) -> GPUNodePool:
    """An H100 pool selecting nodes labelled `pool=<name>`; `rollout` takes camelCase fields."""
    spec: dict[str, Any] = {
        "nodeSelector": {"matchLabels": {"pool": name}},
        "gpu": {"model": "H100-SXM5-80GB", "perNode": 8},
        "mig": {"config": mig, "strategy": "mixed"},
        "labels": {"team": "ml"},
        "taints": taints or [],
        "rollout": {"maxUnavailable": max_unavailable, **rollout},
    }
    if device_plugin is not None:
        spec["devicePlugin"] = {"config": device_plugin}
    return GPUNodePool.model_validate(
        {"apiVersion": "gpuctl.dev/v1alpha1", "kind": "GPUNodePool", "metadata": {"name": name}, "spec": spec}
    )


def node(name: str, pool_name: str = "h100", mig: str = "all-disabled") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"pool": pool_name, MIG_CONFIG: mig, MIG_CONFIG_STATE: "success"},
        },
        "spec": {},
    }


def gpu_pod(name: str, node_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 1}}}],
        },
        "status": {"phase": "Running"},
    }


class MigManager:
    """Answers a mig.config change with state success (or failed for chosen nodes) on each sleep."""

    def __init__(self, cluster: FakeCluster, failing: set[str] | None = None) -> None:
        self.cluster = cluster
        self.failing = failing or set()
        self.max_cordoned = 0

    def __call__(self, clock: ManualClock) -> None:
        for ref, obj in self.cluster.objects.items():
            if ref.kind != "Node":
                continue
            labels = obj["metadata"].setdefault("labels", {})
            if MIG_CONFIG_STATE not in labels:
                labels[MIG_CONFIG_STATE] = "failed" if ref.name in self.failing else "success"

    def watch(self) -> None:
        cordoned = sum(
            1
            for r, o in self.cluster.objects.items()
            if r.kind == "Node" and (o.get("spec") or {}).get("unschedulable")
        )
        self.max_cordoned = max(self.max_cordoned, cordoned)


class WatchedCluster(FakeCluster):
    """FakeCluster calling `on_write` after every Node patch (to watch cordon counts)."""

    on_write: Any = None

    def patch_node(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        result = super().patch_node(name, patch)
        if self.on_write is not None:
            self.on_write()
        return result
