"""The non-disruptive part of a pool's node state: labels and taints.

Labels are a map, so gpuctl server-side applies a partial Node holding only its labels and
owns exactly those keys. `spec.taints` is an atomic list for server-side apply: owning it
would wipe taints other controllers set (cordon, not-ready), so taints are merged into the
live list instead: gpuctl adds the pool's taints, removes only taints it added earlier
(remembered in an annotation), keeps every other taint, and guards the write with the
node's resourceVersion. A concurrent change (on a real cluster, the kubelet's status
heartbeat every few seconds) answers 409: the merge is then recomputed from a fresh read and
retried (`reconciler.cluster.conflicts`), so a heartbeat never fails a pass.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.apply.applier import Applier, Outcome
from reconciler.apply.intents import node_patched
from reconciler.apply.recorder import ChangeRecorder
from reconciler.cluster.conflicts import retry_on_conflict
from reconciler.errors import ConflictError, ReconcileError
from reconciler.planning.pairing import Pair
from reconciler.protocols import ClusterClient, KubeObject
from reconciler.render.order import NODE_POOLS
from reconciler.rollout.steps import node_ref
from reconciler.rollout.targets import NodeTarget, assign_nodes, partial_node, target_for
from schemas.kinds import GPUNodePool
from schemas.results import Action, ChangeEntry

APPLIED_TAINTS = "gpuctl.dev/applied-taints"


def _taint_key(taint: dict[str, Any]) -> tuple[str, str]:
    return (str(taint.get("key")), str(taint.get("effect")))


def taint_patch(node: KubeObject, target: NodeTarget) -> KubeObject | None:
    """The merge patch that brings the node's taints to the pool's, or None if they are."""
    meta = node.get("metadata") or {}
    live = list((node.get("spec") or {}).get("taints") or [])
    recorded = (meta.get("annotations") or {}).get(APPLIED_TAINTS) or "[]"
    try:
        previous = {_taint_key(t) for t in json.loads(recorded)}
    except ValueError:
        previous = set()
    wanted = {_taint_key(t): t for t in target.taints}
    kept = [t for t in live if _taint_key(t) not in wanted and _taint_key(t) not in previous]
    merged = kept + [
        next((t for t in live if _taint_key(t) == key and t.get("value", "") == want.get("value", "")), want)
        for key, want in wanted.items()
    ]
    record = json.dumps([{"key": k, "effect": e} for k, e in sorted(wanted)], separators=(",", ":"))
    same_taints = sorted(map(_canonical, merged)) == sorted(map(_canonical, live))
    if same_taints and recorded == record:
        return None
    return {
        "metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": {APPLIED_TAINTS: record}},
        "spec": {"taints": merged or None},
    }


def _canonical(taint: dict[str, Any]) -> str:
    return json.dumps(taint, sort_keys=True)


def apply_node_state(
    pools: list[GPUNodePool], client: ClusterClient, applier: Applier, recorder: ChangeRecorder
) -> list[Outcome]:
    """Labels (server-side apply) and taints (guarded merge) of every pool's live nodes."""
    if not pools:
        return []
    assigned = assign_nodes(pools, client.list_objects("v1", "Node"))
    outcomes: list[Outcome] = []
    for pool in pools:
        target = target_for(pool)
        for node in assigned[pool.metadata.name]:
            name = str(node["metadata"]["name"])
            # Taints first: their write is guarded by the resourceVersion of this snapshot.
            patch = taint_patch(node, target)
            if patch is not None:
                live_taints = (node.get("spec") or {}).get("taints") or []
                taints = patch["spec"]["taints"] or []
                if applier.dry_run:
                    what = (
                        "taints would change"
                        if taints != live_taints
                        else "taints would be recorded as gpuctl's"
                    )
                    entry = ChangeEntry(node_ref(name), Action.CONFIGURED, message=what)
                else:
                    ops = [{"op": "replace", "path": "/spec/taints", "value": taints}]
                    announced = ChangeEntry(node_ref(name), Action.CONFIGURED, ops, message="taints")
                    recorder.intend(announced, node_patched(patch), "taint")
                    entry = _write_taints(client, name, patch, target)
                recorder.record(entry)
                outcomes.append(Outcome(entry, _taints_view(name, live_taints), _taints_view(name, taints)))
            labels = partial_node(name, target)
            if labels is not None:
                outcomes.append(applier.apply_pair(Pair(node_ref(name), labels, node, "v1", NODE_POOLS)))
    return outcomes


def _taints_view(name: str, taints: list[dict[str, Any]]) -> KubeObject:
    """The part of a Node the taint merge changes, for diff output."""
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {"taints": taints}}


def _write_taints(client: ClusterClient, name: str, patch: KubeObject, target: NodeTarget) -> ChangeEntry:
    """Write the taint merge; on 409 read the node again, recompute the merge and retry."""
    written: list[KubeObject | None] = [patch]

    def attempt() -> None:
        current = written[-1]
        if current is None:
            return
        try:
            client.patch_node(name, current)
        except ConflictError:
            fresh = client.get("v1", "Node", name)
            written.append(taint_patch(fresh, target) if fresh is not None else None)
            raise

    try:
        retry_on_conflict(attempt)
    except ReconcileError as exc:
        ops = [{"op": "replace", "path": "/spec/taints", "value": patch["spec"]["taints"] or []}]
        return ChangeEntry(node_ref(name), Action.FAILED, ops, "taints", error=exc.reason)
    final = written[-1] or patch
    taints = final["spec"]["taints"] or []
    ops = [{"op": "replace", "path": "/spec/taints", "value": taints}]
    shown = ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in taints) or "none"
    return ChangeEntry(node_ref(name), Action.CONFIGURED, ops, f"taints now {shown}")
