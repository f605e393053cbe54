"""What `gpuctl rollout retry|abort|pause|resume` do to a pool's Nodes, as `kubectl rollout`
and Argo Rollouts users expect. Every write is a guarded merge patch recorded through the
`ChangeRecorder` (the audit log) and returned, so the caller can post Events about it.

- retry: a `failed` node goes back to `draining` (still cordoned, towards the same target),
  so the next pass (or `gpuctl rollout retry --repo`) tries it again. A stale
  `nvidia.com/mig.config.state=failed` is removed so that a fresh report of the MIG manager is
  awaited rather than the old failure.
- abort: every node of the pool's rollout loses gpuctl's rollout annotations and waiting taint;
  nodes gpuctl cordoned are uncordoned; labels stay as they are. The pool is left paused, so
  the next pass does not start the same rollout again until `resume`.
- pause / resume: `gpuctl.dev/rollout-paused` on the pool's nodes. The rollout runner reads
  every Node on each pass anyway, so a pause costs no extra request, and it holds for
  `gpuctl apply` and the daemon alike: a pool with any paused node is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.apply.intents import node_patched
from reconciler.apply.recorder import ChangeRecorder
from reconciler.errors import TerminalError
from reconciler.protocols import ClusterClient, KubeObject
from reconciler.rollout.progress import (
    ALL_KEYS,
    FAILURE,
    PHASE,
    POOL,
    PREFIX,
    SINCE,
    Phase,
    Progress,
)
from reconciler.rollout.steps import node_ref
from reconciler.rollout.targets import MIG_CONFIG_STATE, assign_nodes
from reconciler.rollout.waiting_taint import clear_waiting, has_taint
from schemas.kinds import GPUNodePool
from schemas.results import Action, ChangeEntry

PAUSED = PREFIX + "rollout-paused"


class RolloutCommandError(TerminalError):
    """A rollout command that cannot do what was asked (no such pool, node not failed)."""


def is_paused(nodes: Iterable[KubeObject]) -> bool:
    return any(PAUSED in ((n.get("metadata") or {}).get("annotations") or {}) for n in nodes)


def _name(node: KubeObject) -> str:
    return str(node["metadata"]["name"])


def pool_nodes(client: ClusterClient, pool: str, pools: list[GPUNodePool] | None = None) -> list[KubeObject]:
    """The nodes of `pool`: those its selector matches when the pools are known, and in any
    case those gpuctl's annotations place in its rollout (in flight, failed or waiting)."""
    nodes = client.list_objects("v1", "Node")
    members = {_name(n): n for n in nodes if _annotations(n).get(POOL) == pool}
    if pools is not None:
        known = [p for p in pools if p.metadata.name == pool]
        if known:
            members |= {_name(n): n for n in assign_nodes(known, nodes)[pool]}
    return [members[name] for name in sorted(members)]


def _annotations(node: KubeObject) -> dict[str, str]:
    return dict((node.get("metadata") or {}).get("annotations") or {})


@dataclass(frozen=True)
class Done:
    """One node a command changed, and how (for the command's output and its Event)."""

    node: str
    action: Action
    message: str


def retry(
    client: ClusterClient,
    recorder: ChangeRecorder,
    pool: str,
    nodes: list[KubeObject],
    *,
    now: float,
    only: str | None = None,
) -> list[Done]:
    failed = [n for n in nodes if Progress.of(n).phase is Phase.FAILED and (only is None or _name(n) == only)]
    if only is not None and not failed:
        raise RolloutCommandError(f"Node/{only} has no failed rollout in pool {pool}; nothing to retry")
    done = []
    for node in failed:
        progress = Progress.of(node)
        patch: KubeObject = {
            "metadata": {
                "resourceVersion": node["metadata"].get("resourceVersion"),
                "annotations": {
                    PHASE: Phase.DRAINING.value,
                    SINCE: f"{now:.3f}",
                    FAILURE: None,
                    POOL: pool,
                },
            }
        }
        if ((node["metadata"].get("labels") or {}).get(MIG_CONFIG_STATE)) == "failed":
            patch["metadata"]["labels"] = {MIG_CONFIG_STATE: None}
        message = (
            f"rollout of pool {pool} retried (it had failed: {progress.failure or 'no reason recorded'})"
        )
        done.append(_write(client, recorder, _name(node), patch, action=Action.CONFIGURED, message=message))
    return done


def abort(
    client: ClusterClient, recorder: ChangeRecorder, pool: str, nodes: list[KubeObject], *, who: str
) -> list[Done]:
    done = []
    involved = [
        n for n in nodes if Progress.of(n).phase is not None or has_taint(n) or POOL in _annotations(n)
    ]
    clear_waiting(client, recorder, [_name(n) for n in involved], f"rollout of pool {pool} aborted")
    for node in involved:
        fresh = client.get("v1", "Node", _name(node)) or node
        progress = Progress.of(fresh)
        notes: dict[str, str | None] = {k: None for k in ALL_KEYS if k in _annotations(fresh)}
        patch: KubeObject = {
            "metadata": {"resourceVersion": fresh["metadata"].get("resourceVersion"), "annotations": notes}
        }
        if progress.cordoned_by_gpuctl:
            patch["spec"] = {"unschedulable": None}
        if notes or progress.cordoned_by_gpuctl:
            action = Action.UNCORDONED if progress.cordoned_by_gpuctl else Action.CONFIGURED
            message = f"rollout of pool {pool} aborted; labels left as they are"
            done.append(_write(client, recorder, _name(fresh), patch, action=action, message=message))
    done += pause(client, recorder, pool, [client.get("v1", "Node", _name(n)) or n for n in nodes], who=who)
    return done


def pause(
    client: ClusterClient, recorder: ChangeRecorder, pool: str, nodes: list[KubeObject], *, who: str
) -> list[Done]:
    if not nodes:
        raise RolloutCommandError(f"no node of pool {pool} is known; pass the desired state (--repo)")
    stamp = f"{datetime.now(UTC).isoformat(timespec='seconds')} by {who}"
    done = []
    for node in nodes:
        if PAUSED in _annotations(node):
            continue
        done.append(
            _annotate(client, recorder, node, {PAUSED: stamp, POOL: pool}, f"rollout of pool {pool} paused")
        )
    return done


def resume(client: ClusterClient, recorder: ChangeRecorder, pool: str, nodes: list[KubeObject]) -> list[Done]:
    done = []
    for node in nodes:
        notes = _annotations(node)
        if PAUSED not in notes:
            continue
        annotations: dict[str, str | None] = {PAUSED: None}
        if Progress.of(node).phase is None and not has_taint(node):
            annotations[POOL] = None
        done.append(_annotate(client, recorder, node, annotations, f"rollout of pool {pool} resumed"))
    return done


def _annotate(
    client: ClusterClient,
    recorder: ChangeRecorder,
    node: KubeObject,
    annotations: dict[str, str | None],
    message: str,
) -> Done:
    """Set (or, with None, remove) annotations of `node`, guarded by its resourceVersion."""
    rv = node["metadata"].get("resourceVersion")
    patch = {"metadata": {"resourceVersion": rv, "annotations": annotations}}
    return _write(client, recorder, _name(node), patch, action=Action.CONFIGURED, message=message)


def _write(
    client: ClusterClient,
    recorder: ChangeRecorder,
    name: str,
    patch: KubeObject,
    *,
    action: Action,
    message: str,
) -> Done:
    entry = ChangeEntry(node_ref(name), action, _ops(patch), message)
    # Write-ahead, as every cluster write; a patch that raises leaves its intent open, settled
    # from the Node by the next pass or command.
    recorder.intend(entry, node_patched(patch), "command")
    client.patch_node(name, patch)
    recorder.record(entry)
    return Done(name, action, message)


def _ops(patch: KubeObject) -> list[dict[str, object]]:
    ops: list[dict[str, object]] = []
    for section in ("annotations", "labels"):
        for key, value in sorted(((patch.get("metadata") or {}).get(section) or {}).items()):
            path = f"/metadata/{section}/{key.replace('~', '~0').replace('/', '~1')}"
            ops.append(
                {"op": "remove", "path": path}
                if value is None
                else {"op": "add", "path": path, "value": value}
            )
    if "spec" in patch:
        ops.append({"op": "remove", "path": "/spec/unschedulable"})
    return ops
