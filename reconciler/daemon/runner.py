"""The daemon's `ReconcileRunner` on the real engine: load the revision (a commit of the
followed repository, or its working tree), then run `reconciler.pipeline.reconcile` with
the audit log, and turn the result into a `ReconcileReport`.

Interruption uses the engine's `Clock` seam: the engine only sleeps between writes (waiting
for CRDs, MIG managers, health), so a clock whose `sleep` raises `PassInterrupted` once the
stop check is true ends the pass right after its current write. The engine closes the
audit record ("interrupted") and keeps rollout progress on the Nodes, so the next pass, of
this or a newer revision, resumes the rollout where it stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import git
import structlog

from reconciler.clock import SystemClock
from reconciler.daemon.daemon import RepoLocation
from reconciler.daemon.protocols import ReconcileReport, StopCheck, WorkItem
from reconciler.errors import ReconcileError
from reconciler.pipeline import ReconcileOptions, ReconcileResult, reconcile
from reconciler.protocols import AuditSink, Clock, ClusterClient
from reconciler.render import render
from reconciler.source import SourceError, load_directory, load_revision
from reconciler.source.errors import TransientSourceError
from reconciler.source.loader import LoadResult
from reconciler.source.revision import describe_directory
from schemas.desired import DesiredState
from schemas.kinds import GPUCTL_GROUP
from schemas.refs import ObjectRef
from schemas.results import ChangeSet, ReconcileOutcome, RevisionInfo

log = structlog.get_logger("gpuctl.daemon.runner")

_SLEEP_SLICE_S = 0.05


class PassInterrupted(BaseException):
    """Raised from the clock's sleep when the pass must stop (newer revision, lost lease,
    shutdown). A BaseException, so that no `except Exception` inside the engine swallows it."""


class StoppableClock:
    """A `Clock` whose sleeps end early, raising PassInterrupted, once `should_stop()` is true."""

    def __init__(self, inner: Clock, should_stop: StopCheck) -> None:
        self._inner = inner
        self._should_stop = should_stop

    def now(self) -> float:
        return self._inner.now()

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self._should_stop():
                raise PassInterrupted
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._inner.sleep(min(left, _SLEEP_SLICE_S))


@dataclass(frozen=True)
class RunnerOptions:
    prune: bool = False
    # Wait this long for applied objects to become healthy; None: do not wait.
    health_timeout: float | None = None
    poll_interval: float = 1.0


ManagedObjects = Callable[[set[tuple[str, str]], set[ObjectRef]], None]


@dataclass
class PipelineRunner:
    """Runs the engine on revisions of one repository location against one cluster."""

    location: RepoLocation
    client: ClusterClient
    audit: AuditSink | None
    options: RunnerOptions = field(default_factory=RunnerOptions)
    clock: Clock = field(default_factory=SystemClock)
    # Told the kinds and objects of every loaded revision (the drift watcher follows them).
    on_managed: ManagedObjects | None = None
    # Told every loaded desired state (the workload capture maps nodes to its pools).
    on_state: Callable[[DesiredState], None] | None = None
    _repo_lock: threading.Lock = field(default_factory=threading.Lock)

    def reconcile(self, item: WorkItem, should_stop: StopCheck) -> ReconcileReport:
        try:
            loaded, info = self._load(item.revision)
        except TransientSourceError as exc:
            return ReconcileReport(item.revision, ReconcileOutcome.FAILED, error=str(exc), retryable=True)
        except SourceError as exc:
            return self._invalid(item, RevisionInfo(sha=item.revision, path=self.location.subpath), str(exc))
        if not loaded.ok or loaded.state is None:
            errors = [str(d) for d in loaded.errors]
            summary = f"revision is invalid ({len(errors)} error(s)); nothing applied: "
            summary += "; ".join(errors[:5])
            return self._invalid(item, info, summary)
        self._tell_managed(loaded)
        if self.on_state is not None:
            self.on_state(loaded.state)
        options = ReconcileOptions(
            prune=self.options.prune, trigger=item.trigger, poll_interval=self.options.poll_interval,
            health_timeout=self.options.health_timeout,
        )
        try:
            result = reconcile(loaded.state, self.client, clock=StoppableClock(self.clock, should_stop),
                               revision=info, audit=self.audit, options=options)
        except PassInterrupted:
            failed = ReconcileOutcome.FAILED
            return ReconcileReport(item.revision, failed, error="interrupted", interrupted=True)
        except ReconcileError as exc:  # transient or not, the cluster may change: retry with back-off
            return ReconcileReport(item.revision, ReconcileOutcome.FAILED, error=str(exc), retryable=True)
        return _report(item.revision, result)

    def _load(self, revision: str) -> tuple[LoadResult, RevisionInfo]:
        loc = self.location
        if loc.working_tree:
            directory = loc.path / loc.subpath if loc.subpath else loc.path
            return load_directory(directory), describe_directory(directory)
        with self._repo_lock:
            loaded = load_revision(loc.path, revision, loc.subpath)
            return loaded, _commit_info(loc, revision)

    def _invalid(self, item: WorkItem, info: RevisionInfo, error: str) -> ReconcileReport:
        """All-or-nothing: record the rejected revision, apply nothing, keep the last good one."""
        log.error("revision rejected", revision=item.revision, error=error)
        if self.audit is not None:
            reconcile_id = self.audit.begin(info, item.trigger)
            self.audit.end(reconcile_id, ReconcileOutcome.INVALID, error)
        return ReconcileReport(item.revision, ReconcileOutcome.INVALID, error=error)

    def _tell_managed(self, loaded: LoadResult) -> None:
        if self.on_managed is None or loaded.state is None:
            return
        objects = [
            r for r in render(loaded.state) if r.ref.group != GPUCTL_GROUP and r.obj.get("kind") != "Node"
        ]
        kinds = {(str(r.obj["apiVersion"]), str(r.obj["kind"])) for r in objects}
        self.on_managed(kinds, {r.ref for r in objects})


def _commit_info(loc: RepoLocation, revision: str) -> RevisionInfo:
    commit = git.Repo(loc.path).commit(revision)
    message = str(commit.message).strip().splitlines()[0] if commit.message else ""
    return RevisionInfo(sha=commit.hexsha, author=f"{commit.author.name} <{commit.author.email}>",
                        message=message, path=loc.subpath)


def _report(revision: str, result: ReconcileResult) -> ReconcileReport:
    rollout_nodes = {
        r.pool: {"queued": len(r.queue), "in-progress": len(r.in_flight), "done": len(r.rolled),
                 "failed": len(r.failed)}
        for r in result.rollouts
    }
    return ReconcileReport(
        revision=revision,
        outcome=result.outcome,
        changes=result.changes if isinstance(result.changes, ChangeSet) else ChangeSet(),
        error=result.error,
        retryable=result.outcome is ReconcileOutcome.FAILED,
        rollout_nodes=rollout_nodes,
    )
