"""Seams of the daemon (typing.Protocol): the reconcile pass it runs, the leadership it
checks before writing, and where it reports what it did. The loop depends only on these,
so it is tested with small fakes and wired to the real engine in `runner.py`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from schemas.results import ChangeSet, ReconcileOutcome, Trigger


@dataclass(frozen=True)
class WorkItem:
    """One request to reconcile `revision` (a commit SHA, or a working-tree digest)."""

    revision: str
    trigger: Trigger
    # How many times this revision has already failed in a row (0 on the first attempt).
    attempt: int = 0


@dataclass(frozen=True)
class ReconcileReport:
    """What one reconcile pass did, as the loop needs it for metrics, events and back-off."""

    revision: str
    outcome: ReconcileOutcome
    changes: ChangeSet = field(default_factory=ChangeSet)
    error: str | None = None
    # A failure worth retrying with back-off (API unavailable, conflict). Terminal failures
    # (an invalid revision) wait for a new revision instead.
    retryable: bool = False
    # Rollout progress per pool: pool name → node state → number of nodes.
    rollout_nodes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Set when the pass stopped early because `should_stop` said so.
    interrupted: bool = False


StopCheck = Callable[[], bool]
"""Asked by a pass between writes and while it waits for health: True means stop now
(a newer revision is waiting, leadership was lost, or the daemon is shutting down)."""


WriteCheck = Callable[[], bool]
"""Asked before every cluster write: False means this replica may not write any more (it
lost the Lease, or it is shutting down); the write in flight completes, no other starts."""


def _always() -> bool:
    return True


class ReconcileRunner(Protocol):
    """One reconcile pass of a revision: load, plan, apply, wait for health."""

    def reconcile(
        self, item: WorkItem, should_stop: StopCheck, may_write: WriteCheck = _always
    ) -> ReconcileReport: ...


class Leadership(Protocol):
    """Whether this process may write to the cluster right now."""

    def is_leader(self) -> bool: ...


class ReportSink(Protocol):
    """Told about every finished pass (Kubernetes Events, status history, ...)."""

    def reconciled(self, item: WorkItem, report: ReconcileReport) -> None: ...


class AlwaysLeader:
    """Leadership for a single replica run without leader election."""

    def is_leader(self) -> bool:
        return True
