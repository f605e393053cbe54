"""Node labels and taints of a pool: taints merged without touching other controllers' taints."""

from __future__ import annotations

import json

from reconciler.rollout.node_state import APPLIED_TAINTS, taint_patch
from reconciler.rollout.targets import partial_node, target_for
from schemas.kinds import GPUNodePool
from tests.reconciler.rollout_fixtures import pool

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
CORDON_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def _tainted_pool() -> GPUNodePool:
    return pool(taints=[GPU_TAINT])


def _node(taints: list[dict[str, str]], applied: list[dict[str, str]] | None = None) -> dict[str, object]:
    annotations = {APPLIED_TAINTS: json.dumps(applied, separators=(",", ":"))} if applied is not None else {}
    return {
        "metadata": {"name": "n", "resourceVersion": "41", "annotations": annotations},
        "spec": {"taints": taints},
    }


def test_pool_taint_is_added_next_to_foreign_taints() -> None:
    """A cordon taint set by the node controller survives; the pool's taint is added; RV guards it."""
    patch = taint_patch(_node([CORDON_TAINT]), target_for(_tainted_pool()))
    assert patch is not None
    assert patch["spec"]["taints"] == [CORDON_TAINT, GPU_TAINT]
    assert patch["metadata"]["resourceVersion"] == "41"


def test_no_write_when_taints_already_match() -> None:
    """Taints and the ownership record already right: no patch."""
    applied = [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    assert taint_patch(_node([CORDON_TAINT, GPU_TAINT], applied), target_for(_tainted_pool())) is None


def test_taint_dropped_from_git_is_removed_only_if_gpuctl_added_it() -> None:
    """A taint gpuctl applied earlier goes when the pool drops it; an identical foreign one would stay."""
    applied = [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    patch = taint_patch(_node([CORDON_TAINT, GPU_TAINT], applied), target_for(pool()))
    assert patch is not None and patch["spec"]["taints"] == [CORDON_TAINT]
    assert taint_patch(_node([CORDON_TAINT, GPU_TAINT], []), target_for(pool())) is None


def test_partial_node_holds_only_non_disruptive_labels() -> None:
    """The server-side applied Node carries the pool's labels, never mig.config or taints."""
    obj = partial_node("n", target_for(_tainted_pool()))
    assert obj == {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": {"team": "ml"}}}
