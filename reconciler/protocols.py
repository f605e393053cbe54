"""The seams of the reconcile engine (typing.Protocol only, no implementations).

`ClusterClient` is implemented by `reconciler.cluster.KubeClusterClient` (the only code that
talks to the Kubernetes API); `AuditSink` by the audit log (`reconciler.audit.SqliteAuditLog`)
and by `reconciler.testing.RecordingAuditSink`; `Clock` by `SystemClock` and test clocks.
Objects cross these seams as plain JSON-like dicts, exactly as the API server returns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from schemas.results import ChangeEntry, ReconcileOutcome, RevisionInfo, Trigger

KubeObject = dict[str, Any]


class AuditSink(Protocol):
    """Where a reconcile's record goes. `change` is called right after each cluster write,
    before the next write, so a crash loses nothing that happened."""

    def begin(self, revision: RevisionInfo, trigger: Trigger) -> str: ...

    def change(self, reconcile_id: str, entry: ChangeEntry) -> None: ...

    def end(self, reconcile_id: str, outcome: ReconcileOutcome, error: str | None = None) -> None: ...


class StoredIntent(Protocol):
    """A write-ahead intent as the audit log holds it."""

    @property
    def seq(self) -> int: ...

    @property
    def content(self) -> dict[str, Any]: ...

    @property
    def intent_id(self) -> str: ...


@runtime_checkable
class IntentLog(Protocol):
    """An audit sink with write-ahead intents: `intent` before a cluster write, then the outcome
    (`change` naming the intent); after a crash, orphaned intents are settled from the cluster."""

    def intent(self, reconcile_id: str, entry: ChangeEntry, check: dict[str, Any]) -> str: ...

    def change(self, reconcile_id: str, entry: ChangeEntry, *, intent_id: str | None = None) -> None: ...

    def void(self, reconcile_id: str, intent_id: str, reason: str) -> None: ...

    def orphaned_intents(self) -> Sequence[StoredIntent]: ...

    def settle(
        self, reconcile_id: str, intent_seq: int, planned: dict[str, Any], landed: bool, message: str
    ) -> bool: ...


class ClusterClient(Protocol):
    """Typed access to one cluster. Reads are LIST snapshots per kind; writes are server-side
    apply (field manager `gpuctl`), merge patches of Nodes, deletes and evictions."""

    def has_kind(self, api_version: str, kind: str) -> bool:
        """Whether the API server serves this kind now (a CRD may not be Established yet)."""
        ...

    def is_namespaced(self, api_version: str, kind: str) -> bool: ...

    def list_objects(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[KubeObject]:
        """All objects of a kind (across namespaces unless `namespace`), with apiVersion/kind set."""
        ...

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> KubeObject | None: ...

    def list_namespace(self, namespace: str) -> list[KubeObject]:
        """Every object in a namespace, of every namespaced kind served (prune guard)."""
        ...

    def apply(self, obj: KubeObject, *, dry_run: bool = False) -> KubeObject:
        """Server-side apply `obj` (forcing conflicts) and return the resulting object."""
        ...

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "") -> bool:
        """Delete; False when the object was already gone."""
        ...

    def patch_node(self, name: str, patch: KubeObject) -> KubeObject:
        """JSON merge patch of a Node (cordon, rollout annotations, disruptive labels)."""
        ...

    def evict(self, namespace: str, name: str) -> bool:
        """Ask the eviction API to evict a pod; False when a PodDisruptionBudget refuses now."""
        ...


class Clock(Protocol):
    """Time as the engine sees it: monotonic seconds and a sleep, replaceable in tests."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...
