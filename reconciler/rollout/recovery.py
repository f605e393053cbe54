"""After a crash: node writes that landed but never reached the audit log.

A node write and its audit entry are two steps; a gpuctl killed between them (SIGKILL, OOM,
node loss) leaves a change on the cluster that the log does not show, and the restarted
gpuctl resumes from the node's annotations without writing it again. Before a rollout
runs, each pool node's progress annotations are compared with the newest audit entry for
that Node; where the node is further along than the log, the missing entry is recorded
then, marked as recovered. Evictions are not covered: an evicted pod leaves nothing on
the cluster to compare with.

Called by `reconciler.rollout.runner` when the audit sink can answer `ChangeHistory`.
"""

from __future__ import annotations

from typing import Any

from reconciler.apply.recorder import ChangeRecorder
from reconciler.protocols import ChangeHistory
from reconciler.rollout.progress import ALL_KEYS, SINCE, Phase, Progress
from reconciler.rollout.steps import node_ref
from schemas.results import Action, ChangeEntry

_WRITE_OF_PHASE = {
    Phase.DRAINING: Action.CORDONED,
    Phase.CONFIGURING: Action.RELABELLED,
    Phase.FAILED: Action.ROLLOUT_FAILED,
}
_IN_FLIGHT_ACTIONS = {Action.CORDONED.value, Action.RELABELLED.value}
RECOVERED = "recorded after a restart: gpuctl stopped after this write and before recording it"


def record_lost_node_writes(
    nodes: list[dict[str, Any]], history: ChangeHistory, recorder: ChangeRecorder
) -> int:
    """Record the newest write of each node whose audit trail stops short of its state;
    return how many entries were recovered."""
    recovered = 0
    last = history.last_changes([f"Node/{node['metadata']['name']}" for node in nodes])
    for node in nodes:
        entry = _missing_entry(node, last.get(f"Node/{node['metadata']['name']}"))
        if entry is not None:
            recorder.record(entry)
            recovered += 1
    return recovered


def _missing_entry(node: dict[str, Any], last: dict[str, Any] | None) -> ChangeEntry | None:
    name = str(node["metadata"]["name"])
    progress = Progress.of(node)
    last_action = None if last is None else str(last.get("action"))
    notes = (node.get("metadata") or {}).get("annotations") or {}
    if progress.phase is not None:
        expected = _WRITE_OF_PHASE[progress.phase]
        if last_action == expected.value and _since_of(last) == notes.get(SINCE):
            return None
        patch = [_add("/metadata/annotations/" + _escape(k), notes[k]) for k in ALL_KEYS if k in notes]
        if progress.phase is Phase.CONFIGURING:
            patch += [_add("/metadata/labels/" + _escape(k), v) for k, v in sorted(progress.target.items())]
        return ChangeEntry(node_ref(name), expected, patch, RECOVERED)
    if last_action not in _IN_FLIGHT_ACTIONS:
        return None
    # The log shows a rollout in flight, the node shows it over: the last write was its end.
    cordoned = bool((node.get("spec") or {}).get("unschedulable"))
    action = Action.CONFIGURED if cordoned else Action.UNCORDONED
    patch = [{"op": "remove", "path": "/metadata/annotations/" + _escape(k)} for k in ALL_KEYS]
    if not cordoned:
        patch.append({"op": "remove", "path": "/spec/unschedulable"})
    return ChangeEntry(node_ref(name), action, patch, RECOVERED)


def _since_of(entry: dict[str, Any] | None) -> str | None:
    path = "/metadata/annotations/" + _escape(SINCE)
    for op in (entry or {}).get("patch") or []:
        if isinstance(op, dict) and op.get("path") == path:
            return str(op.get("value"))
    return None


def _add(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
