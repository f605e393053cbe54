"""Write-ahead intents, engine side: the `check` each intent carries (how to tell on the
cluster whether its write landed) and settling orphaned intents before a pass.

Checks, by write kind:

- `applied` (server-side apply): the object exists, carries the sent digest annotation (when
  one was sent), and is not the version seen before the write (resourceVersion moved, or the
  digest did);
- `deleted` (prune): the object is gone or being deleted;
- `evicted`: the pod is gone, being deleted, or replaced (another uid);
- `patched` (Node merge patch): every value the patch sets is on the node, and every
  annotation it removes is absent (only annotations: gpuctl alone owns them, while a label it
  clears, such as the MIG state, may be written again at once by the MIG manager).

An orphaned intent (its writer stopped before recording the outcome) whose write landed is
recorded once, as the change it announced, marked recovered; one whose write did not land
is recorded as not having happened. Called by `reconciler.pipeline` at the start of a pass.
"""

from __future__ import annotations

from typing import Any

from reconciler.apply.recorder import ChangeRecorder
from reconciler.planning.compare import DIGEST_ANNOTATION
from reconciler.protocols import ClusterClient, KubeObject
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry

RECOVERED = "(recorded after a restart: gpuctl stopped after this write and before recording it)"
NOT_DONE = "not done: gpuctl stopped before this write reached the cluster"


def applied(api_version: str, live: KubeObject | None, sent: KubeObject) -> dict[str, Any]:
    """The check of a server-side apply of `sent` over `live` (None: a create)."""
    return {
        "how": "applied",
        "apiVersion": api_version,
        "digest": _annotation(sent, DIGEST_ANNOTATION),
        "beforeDigest": _annotation(live, DIGEST_ANNOTATION),
        "beforeResourceVersion": ((live or {}).get("metadata") or {}).get("resourceVersion"),
    }


def deleted(api_version: str) -> dict[str, Any]:
    return {"how": "deleted", "apiVersion": api_version}


def evicted(pod: KubeObject) -> dict[str, Any]:
    return {"how": "evicted", "apiVersion": "v1", "uid": (pod.get("metadata") or {}).get("uid")}


def node_patched(patch: KubeObject) -> dict[str, Any]:
    """The check of a Node merge patch (its resourceVersion guard left out)."""
    meta = {k: v for k, v in (patch.get("metadata") or {}).items() if k != "resourceVersion"}
    return {"how": "patched", "apiVersion": "v1", "merge": {**patch, "metadata": meta}}


def landed(check: dict[str, Any], live: KubeObject | None) -> bool:
    """Whether the write an intent announced is on the cluster, judged by its `check`."""
    how = check.get("how")
    meta = (live or {}).get("metadata") or {}
    if how == "deleted":
        return live is None or bool(meta.get("deletionTimestamp"))
    if how == "evicted":
        return live is None or bool(meta.get("deletionTimestamp")) or meta.get("uid") != check.get("uid")
    if live is None:
        return False
    if how == "applied":
        digest = check.get("digest")
        if digest is not None and _annotation(live, DIGEST_ANNOTATION) != digest:
            return False
        if check.get("beforeResourceVersion") is None:
            return True  # created
        moved = meta.get("resourceVersion") != check.get("beforeResourceVersion")
        return moved or (digest is not None and check.get("beforeDigest") != digest)
    if how == "patched":
        return _holds(check.get("merge") or {}, live, annotations=False)
    return False


def _holds(patch: dict[str, Any], live: dict[str, Any], *, annotations: bool) -> bool:
    for key, value in patch.items():
        if value is None:
            if annotations and key in live:
                return False
        elif isinstance(value, dict):
            inner = live.get(key)
            if not _holds(value, inner if isinstance(inner, dict) else {}, annotations=key == "annotations"):
                return False
        elif live.get(key) != value:
            return False
    return True


def settle_orphaned_intents(client: ClusterClient, recorder: ChangeRecorder) -> int:
    """Settle every orphaned intent of the audit log from the cluster; return how many were
    recorded as done (the others are recorded as not done). A read failing raises, so the
    pass fails before writing anything."""
    log = recorder.intents
    if log is None:
        return 0
    recovered = 0
    for intent in log.orphaned_intents():
        planned = intent.content
        ref = planned.get("ref") or {}
        check = planned.get("check") or {}
        api_version, kind = str(check.get("apiVersion") or "v1"), str(ref.get("kind"))
        live = None  # a kind no longer served holds no objects
        if client.has_kind(api_version, kind):
            live = client.get(api_version, kind, str(ref.get("name")), str(ref.get("namespace") or ""))
        done = landed(check, live)
        message = RECOVERED if done else NOT_DONE
        if log.settle(recorder.reconcile_id, intent.seq, planned, done, message) and done:
            recovered += 1
            action = Action(str(planned.get("action")))
            if action not in (Action.FAILED, Action.ROLLOUT_FAILED):
                recorder.changes.add(ChangeEntry(ObjectRef(**ref), action, list(planned.get("patch") or [])))
    return recovered


def _annotation(obj: KubeObject | None, key: str) -> str | None:
    value = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(key)
    return None if value is None else str(value)
