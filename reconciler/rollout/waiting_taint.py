"""One eviction per pod: while a pool rolls out, the nodes still waiting for their turn carry a
`PreferNoSchedule` taint of gpuctl's, so the scheduler puts pods evicted from a node being
drained on nodes already reconfigured (where they fit) rather than on a node that will be
drained next. The taint is removed when the node's turn comes (just before its cordon, so a
node in flight never carries it) and when the rollout ends, halts or is aborted.

The taint is merged into the node's taints as the pool's taints are (`rollout.node_state`):
every other taint is kept, the write is guarded by the node's resourceVersion, and the key
is listed in `gpuctl.dev/applied-taints`, so a pass that finds it left behind by an
interrupted gpuctl removes it with the other taints gpuctl no longer wants. Waiting nodes
are also annotated with their pool (`gpuctl.dev/rollout-pool`), so `gpuctl rollout status`
finds them without the desired state.
"""

from __future__ import annotations

import json
from typing import Any

import structlog

from reconciler.apply.intents import node_patched
from reconciler.apply.recorder import ChangeRecorder
from reconciler.errors import ConflictError, NotFoundError, ReconcileError
from reconciler.protocols import ClusterClient, KubeObject
from reconciler.rollout.node_state import APPLIED_TAINTS
from reconciler.rollout.progress import POOL, Progress
from reconciler.rollout.steps import node_ref
from schemas.results import Action, ChangeEntry

KEY = "gpuctl.dev/rollout-waiting"
EFFECT = "PreferNoSchedule"
TAINT = {"key": KEY, "effect": EFFECT}

log = structlog.get_logger("gpuctl.rollout.waiting")


def has_taint(node: KubeObject) -> bool:
    return any(_is_ours(t) for t in (node.get("spec") or {}).get("taints") or [])


def _is_ours(taint: dict[str, Any]) -> bool:
    return taint.get("key") == KEY and taint.get("effect") == EFFECT


def _recorded(node: KubeObject) -> list[dict[str, Any]]:
    raw = ((node.get("metadata") or {}).get("annotations") or {}).get(APPLIED_TAINTS) or "[]"
    try:
        recorded = json.loads(raw)
    except ValueError:
        return []
    return [t for t in recorded if isinstance(t, dict)] if isinstance(recorded, list) else []


def _patch(node: KubeObject, taints: list[dict[str, Any]], recorded: list[dict[str, Any]]) -> KubeObject:
    meta = node.get("metadata") or {}
    record = json.dumps(
        sorted(recorded, key=lambda t: (str(t.get("key")), str(t.get("effect")))), separators=(",", ":")
    )
    return {
        "metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": {APPLIED_TAINTS: record}},
        "spec": {"taints": taints or None},
    }


def mark_waiting(client: ClusterClient, recorder: ChangeRecorder, pool: str, nodes: list[KubeObject]) -> None:
    """Taint each of `nodes` (waiting for its turn in `pool`'s rollout) unless it is already."""
    for node in nodes:
        if has_taint(node):
            continue
        taints = [*((node.get("spec") or {}).get("taints") or []), dict(TAINT)]
        recorded = [t for t in _recorded(node) if not _is_ours(t)] + [dict(TAINT)]
        patch = _patch(node, taints, recorded)
        patch["metadata"]["annotations"][POOL] = pool
        _write(
            client,
            recorder,
            str(node["metadata"]["name"]),
            patch,
            f"taint {KEY}:{EFFECT} added: waiting for its turn in the rollout of pool {pool}",
        )


def clear_waiting(client: ClusterClient, recorder: ChangeRecorder, names: list[str], why: str) -> None:
    """Remove the taint from each named node that carries it (read fresh, then guarded)."""
    for name in names:
        node = client.get("v1", "Node", name)
        if node is None or not has_taint(node):
            continue
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if not _is_ours(t)]
        recorded = [t for t in _recorded(node) if not _is_ours(t)]
        patch = _patch(node, taints, recorded)
        if Progress.of(node).phase is None:  # never started: it no longer takes part
            patch["metadata"]["annotations"][POOL] = None
        _write(client, recorder, name, patch, f"taint {KEY}:{EFFECT} removed: {why}")


def _write(
    client: ClusterClient, recorder: ChangeRecorder, name: str, patch: KubeObject, message: str
) -> None:
    """Best effort: a refused write (a concurrent change of the node) only costs the preference.
    Write-ahead, as every cluster write: the intent first, so a crash between the patch and its
    outcome leaves an intent the next pass settles from the Node."""
    ref = node_ref(name)
    ops = [{"op": "replace", "path": "/spec/taints", "value": patch["spec"]["taints"] or []}]
    recorder.intend(ChangeEntry(ref, Action.CONFIGURED, ops, message), node_patched(patch), "waiting-taint")
    try:
        client.patch_node(name, patch)
    except ReconcileError as exc:
        if isinstance(exc, (ConflictError, NotFoundError)):  # refused: certainly not written
            recorder.abandon(ref, f"waiting taint not written: {exc.reason}")
        # any other error may hide a write that landed: its intent stays open and the next
        # pass settles it from the Node
        log.warning("waiting taint not written", node=f"Node/{name}", error=exc.reason)
        return
    recorder.record(ChangeEntry(ref, Action.CONFIGURED, ops, message))
