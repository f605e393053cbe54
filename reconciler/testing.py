"""Test helpers shipped with the engine: an in-memory audit sink, a manual clock and a small
in-memory cluster for unit tests of planning, apply and rollouts. End-to-end tests use the
sandbox API server instead; these fakes keep the unit tests fast and exact.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import NotFoundError
from reconciler.protocols import KubeObject
from schemas.refs import ObjectRef
from schemas.results import ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger


@dataclass
class RecordedReconcile:
    revision: RevisionInfo
    trigger: Trigger
    changes: list[ChangeEntry] = field(default_factory=list)
    outcome: ReconcileOutcome | None = None
    error: str | None = None


class RecordingAuditSink:
    """AuditSink keeping every call in memory, in order."""

    def __init__(self) -> None:
        self.reconciles: dict[str, RecordedReconcile] = {}
        self._ids = itertools.count(1)

    def begin(self, revision: RevisionInfo, trigger: Trigger) -> str:
        reconcile_id = f"r{next(self._ids)}"
        self.reconciles[reconcile_id] = RecordedReconcile(revision, trigger)
        return reconcile_id

    def change(self, reconcile_id: str, entry: ChangeEntry) -> None:
        record = self.reconciles[reconcile_id]
        if record.outcome is not None:
            raise AssertionError(f"change after end of {reconcile_id}")
        record.changes.append(entry)

    def end(self, reconcile_id: str, outcome: ReconcileOutcome, error: str | None = None) -> None:
        self.reconciles[reconcile_id].outcome = outcome
        self.reconciles[reconcile_id].error = error

    def all_changes(self) -> list[ChangeEntry]:
        return [entry for record in self.reconciles.values() for entry in record.changes]


class ManualClock:
    """A Clock whose time moves only when slept; `on_sleep` hooks let tests act meanwhile."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.time = start
        self.slept = 0.0
        self.on_sleep: list[Any] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += seconds
        self.slept += seconds
        for hook in list(self.on_sleep):
            hook(self)


def _merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386) semantics, also used as a crude stand-in for SSA."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


class FakeCluster:
    """In-memory ClusterClient: apply merges (no field ownership), counts writes by kind."""

    def __init__(
        self, objects: list[KubeObject] | None = None, *, cluster_scoped: set[str] | None = None
    ) -> None:
        self.objects: dict[ObjectRef, KubeObject] = {}
        self.cluster_scoped = cluster_scoped or {
            "Namespace",
            "Node",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "PriorityClass",
            "ClusterQueue",
            "ResourceFlavor",
            "ClusterPolicy",
        }
        self.writes: list[tuple[str, str]] = []
        self.pdb_blocked: set[str] = set()
        self.served: set[str] | None = None
        for obj in objects or []:
            self.put(obj)

    def put(self, obj: KubeObject) -> None:
        stored = copy.deepcopy(obj)
        stored.setdefault("metadata", {}).setdefault("resourceVersion", "1")
        self.objects[ObjectRef.of(stored)] = stored

    def node(self, name: str) -> KubeObject:
        return self.objects[ObjectRef("", "Node", "", name)]

    def has_kind(self, api_version: str, kind: str) -> bool:
        return self.served is None or kind in self.served

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        return kind not in self.cluster_scoped

    def list_objects(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[KubeObject]:
        out = []
        for ref, obj in self.objects.items():
            if ref.kind != kind or (namespace and ref.namespace != namespace):
                continue
            node_name = (obj.get("spec") or {}).get("nodeName")
            if field_selector and node_name != field_selector.removeprefix("spec.nodeName="):
                continue
            out.append(copy.deepcopy(obj))
        return out

    def list_namespace(self, namespace: str) -> list[KubeObject]:
        return [copy.deepcopy(o) for r, o in self.objects.items() if r.namespace == namespace]

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> KubeObject | None:
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        obj = self.objects.get(ObjectRef(group, kind, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def apply(self, obj: KubeObject, *, dry_run: bool = False) -> KubeObject:
        ref = ObjectRef.of(obj)
        merged = _merge(self.objects.get(ref, {}), obj)
        if not dry_run:
            version = int((self.objects.get(ref, {}).get("metadata") or {}).get("resourceVersion", "0")) + 1
            merged["metadata"]["resourceVersion"] = str(version)
            self.objects[ref] = merged
            self.writes.append(("apply", str(ref)))
        return copy.deepcopy(merged)

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "") -> bool:
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        self.writes.append(("delete", f"{kind}/{namespace}/{name}"))
        return self.objects.pop(ObjectRef(group, kind, namespace, name), None) is not None

    def patch_node(self, name: str, patch: KubeObject) -> KubeObject:
        ref = ObjectRef("", "Node", "", name)
        if ref not in self.objects:
            raise NotFoundError("patch failed: HTTP 404", ref)
        self.objects[ref] = _merge(self.objects[ref], patch)
        self.writes.append(("patch", str(ref)))
        return copy.deepcopy(self.objects[ref])

    def evict(self, namespace: str, name: str) -> bool:
        if name in self.pdb_blocked:
            return False
        self.writes.append(("evict", f"Pod/{namespace}/{name}"))
        self.objects.pop(ObjectRef("", "Pod", namespace, name), None)
        return True


def desired_state(
    objects: list[KubeObject],
    pools: list[Any] | None = None,
    settings: Any | None = None,
) -> Any:
    """A DesiredState holding `objects` as manifests (written in a file `test.yaml`) and `pools`."""
    from reconciler.validation.context import Context
    from reconciler.validation.operator_configs import gpu_operator_configmaps
    from schemas.desired import DesiredState, Manifest
    from schemas.diagnostics import SourceLocation
    from schemas.kinds import RepoSettings

    manifests = [
        Manifest(copy.deepcopy(obj), SourceLocation("test.yaml", line), ObjectRef.of(obj))
        for line, obj in enumerate(objects, start=1)
    ]
    state = DesiredState(
        root=".",
        revision=None,
        settings=settings or RepoSettings(),
        manifests=manifests,
        pools=list(pools or []),
    )
    # What the loader's validation records: the ConfigMaps the GPU Operator reads.
    state.gpu_operator_configs = gpu_operator_configmaps(Context.of(state))
    return state
