"""Node writes against a node whose status heartbeats between gpuctl's read and its write."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from reconciler.cluster.conflicts import ConflictBackoff, retry_on_conflict
from reconciler.errors import ConflictError
from reconciler.pipeline import ReconcileOptions, reconcile
from reconciler.protocols import KubeObject
from reconciler.testing import FakeCluster, ManualClock, desired_state
from schemas.refs import ObjectRef
from schemas.results import Action, ReconcileOutcome, RevisionInfo
from tests.reconciler.rollout_fixtures import node, pool

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


class HeartbeatingCluster(FakeCluster):
    """A FakeCluster whose patches honour `metadata.resourceVersion` (409 when stale), and whose
    nodes heartbeat (their resourceVersion moves) right after each of the first `beats` reads."""

    def __init__(self, beats: int, objects: list[KubeObject]) -> None:
        super().__init__(objects)
        self.beats = beats
        self.conflicts = 0

    def _heartbeat(self) -> None:
        if self.beats <= 0:
            return
        self.beats -= 1
        for ref, obj in self.objects.items():
            if ref.kind == "Node":
                meta = obj["metadata"]
                meta["resourceVersion"] = str(int(meta.get("resourceVersion", "1")) + 1)
                obj.setdefault("status", {})["conditions"] = [{"type": "Ready", "status": "True"}]

    def list_objects(self, api_version: str, kind: str, **kwargs: Any) -> list[KubeObject]:
        out = super().list_objects(api_version, kind, **kwargs)
        if kind == "Node":
            self._heartbeat()
        return out

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> KubeObject | None:
        out = super().get(api_version, kind, name, namespace)
        if kind == "Node":
            self._heartbeat()
        return out

    def patch_node(self, name: str, patch: KubeObject) -> KubeObject:
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        stored = self.objects[ObjectRef("", "Node", "", name)]["metadata"].get("resourceVersion")
        if wanted is not None and wanted != stored:
            self.conflicts += 1
            raise ConflictError(
                f'patch failed: HTTP 409 Conflict: Operation cannot be fulfilled on nodes "{name}": '
                "the object has been modified; please apply your changes to the latest version and try again",
                ObjectRef("", "Node", "", name),
            )
        unguarded = copy.deepcopy(patch)
        unguarded.get("metadata", {}).pop("resourceVersion", None)
        return super().patch_node(name, unguarded)


def _apply(cluster: FakeCluster) -> Any:
    return reconcile(
        desired_state([], pools=[pool(taints=[GPU_TAINT])]),
        cluster,
        clock=ManualClock(),
        revision=RevisionInfo("abc"),
        options=ReconcileOptions(),
    )


def test_taint_write_survives_a_heartbeat_between_read_and_write() -> None:
    """A 409 from a heartbeat is retried with a fresh read: the pass succeeds and the taint lands."""
    cluster = HeartbeatingCluster(beats=2, objects=[node("n1", mig="all-1g.10gb")])
    result = _apply(cluster)
    assert cluster.conflicts >= 1
    assert result.outcome is ReconcileOutcome.SUCCEEDED, result
    assert cluster.node("n1")["spec"]["taints"] == [GPU_TAINT]
    assert cluster.node("n1")["status"]["conditions"][0]["type"] == "Ready"


def test_second_pass_after_conflicts_writes_nothing() -> None:
    """After a pass that met conflicts, the next pass finds nothing to change."""
    cluster = HeartbeatingCluster(beats=2, objects=[node("n1", mig="all-1g.10gb")])
    _apply(cluster)
    before = len(cluster.writes)
    assert _apply(cluster).outcome is ReconcileOutcome.NOOP
    assert cluster.writes[before:] == []


def test_conflicts_that_never_clear_fail_the_node_write_after_bounded_tries() -> None:
    """A node modified before every write: five tries (client-go's DefaultRetry), then a failed entry."""
    cluster = HeartbeatingCluster(beats=10_000, objects=[node("n1", mig="all-1g.10gb")])
    result = _apply(cluster)
    assert cluster.conflicts == 5
    failed = [c for c in result.changes.entries if c.action is Action.FAILED]
    assert failed and "409" in str(failed[0].error)


def test_retry_on_conflict_stops_at_the_first_success() -> None:
    """Two conflicts, then success: three attempts, two short waits of 10–11 ms."""
    calls: list[int] = []
    waits: list[float] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConflictError("HTTP 409 Conflict")
        return "ok"

    assert retry_on_conflict(attempt, sleep=waits.append, rng=random.Random(1)) == "ok"
    assert len(calls) == 3
    assert all(0.01 <= w <= 0.011 for w in waits) and len(waits) == 2


def test_retry_on_conflict_does_not_retry_other_errors() -> None:
    """A non-conflict error propagates at once."""
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise ValueError("boom")

    with pytest.raises(ValueError):
        retry_on_conflict(attempt, backoff=ConflictBackoff(steps=3), sleep=lambda _: None)
    assert calls == [1]
