"""The daemon's `ReconcileRunner` on the real engine: load the revision (a commit of the
followed repository, or its working tree), then run `reconciler.pipeline.reconcile` with
the audit log, and turn the result into a `ReconcileReport`.

Interruption uses the engine's `Clock` seam: the engine only sleeps between writes (waiting
for CRDs, MIG managers, health), so a clock whose `sleep` raises `PassInterrupted` once the
stop check is true ends the pass right after its current write. The engine closes the
audit record ("interrupted") and keeps rollout progress on the Nodes, so the next pass, of
this or a newer revision, resumes the rollout where it stopped. Writes are fenced apart:
once this replica may not write (lost Lease, shutdown), `FencedClient` lets the write in
flight complete and refuses the next, even in a run of writes with no sleep between them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import structlog

from reconciler.clock import SystemClock
from reconciler.daemon.daemon import RepoLocation
from reconciler.daemon.protocols import ReconcileReport, StopCheck, WorkItem, WriteCheck
from reconciler.daemon.rollout_view import node_drifted, rollout_states
from reconciler.daemon.trust import CommitTrust
from reconciler.errors import ReconcileError
from reconciler.pipeline import ReconcileOptions, ReconcileResult, reconcile
from reconciler.protocols import AuditSink, Clock, ClusterClient, KubeObject
from reconciler.render import RenderedObject, cluster_objects, render
from reconciler.rollout.drain_progress import DrainObserver, evict
from reconciler.source import SourceError, load_directory, load_revision
from reconciler.source.errors import TransientSourceError
from reconciler.source.history import commit_sha, rewrites_history
from reconciler.source.loader import LoadResult
from reconciler.source.revision import describe_directory, describe_revision
from schemas.desired import DesiredState
from schemas.kinds import GPUNodePool
from schemas.refs import ObjectRef
from schemas.results import ChangeSet, ReconcileOutcome, RevisionInfo

log = structlog.get_logger("gpuctl.daemon.runner")

_SLEEP_SLICE_S = 0.05


class PassInterrupted(BaseException):
    """Raised from the clock's sleep when the pass must stop (newer revision, lost lease,
    shutdown). A BaseException, so that no `except Exception` inside the engine swallows it."""


class StoppableClock:
    """A `Clock` whose sleeps end early, raising PassInterrupted, once `should_stop()` is true.
    `on_wait` is called at the start of each sleep (the engine sleeps only while it waits)."""

    def __init__(
        self, inner: Clock, should_stop: StopCheck, on_wait: Callable[[], object] = lambda: None
    ) -> None:
        self._inner = inner
        self._should_stop = should_stop
        self._on_wait = on_wait

    def now(self) -> float:
        return self._inner.now()

    def sleep(self, seconds: float) -> None:
        self._on_wait()
        deadline = time.monotonic() + seconds
        while True:
            if self._should_stop():
                raise PassInterrupted
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._inner.sleep(min(left, _SLEEP_SLICE_S))


class FencedClient:
    """A `ClusterClient` that refuses to start a write once `may_write()` is false (the Lease
    was lost, or the daemon is shutting down): the write in flight completes, the next one
    raises PassInterrupted. Reads and dry runs pass through."""

    def __init__(self, inner: ClusterClient, may_write: WriteCheck) -> None:
        self._inner = inner
        self._may_write = may_write

    def _fence(self) -> None:
        if not self._may_write():
            raise PassInterrupted

    def has_kind(self, api_version: str, kind: str) -> bool:
        return self._inner.has_kind(api_version, kind)

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        return self._inner.is_namespaced(api_version, kind)

    def list_objects(
        self, api_version: str, kind: str, *, namespace: str | None = None,
        label_selector: str | None = None, field_selector: str | None = None,
    ) -> list[KubeObject]:
        return self._inner.list_objects(api_version, kind, namespace=namespace,
                                        label_selector=label_selector, field_selector=field_selector)

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> KubeObject | None:
        return self._inner.get(api_version, kind, name, namespace)

    def list_namespace(self, namespace: str) -> list[KubeObject]:
        return self._inner.list_namespace(namespace)

    def apply(self, obj: KubeObject, *, dry_run: bool = False) -> KubeObject:
        if not dry_run:
            self._fence()
        return self._inner.apply(obj, dry_run=dry_run)

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "") -> bool:
        self._fence()
        return self._inner.delete(api_version, kind, name, namespace)

    def patch_node(self, name: str, patch: KubeObject) -> KubeObject:
        self._fence()
        return self._inner.patch_node(name, patch)

    def evict(self, namespace: str, name: str) -> bool:
        self._fence()
        return self._inner.evict(namespace, name)

    def evict_explained(self, namespace: str, name: str) -> str | None:
        self._fence()
        return evict(self._inner, namespace, name)


@dataclass(frozen=True)
class RunnerOptions:
    prune: bool = False
    # Wait this long for applied objects to become healthy; None: do not wait.
    health_timeout: float | None = None
    poll_interval: float = 1.0


ManagedObjects = Callable[[set[tuple[str, str]], set[ObjectRef], Callable[[KubeObject], bool] | None], None]
RolloutStates = Callable[[dict[str, dict[str, int]]], None]


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
    # Told each pool's nodes by rollout state while a pass waits, and at its end.
    on_rollout: RolloutStates | None = None
    # Told every loaded desired state (the workload capture maps nodes to its pools).
    on_state: Callable[[DesiredState], None] | None = None
    # Given a revision, who hears about blocked drains during its pass (log, Events, /status).
    drain_observer: Callable[[str], DrainObserver] | None = None
    # The commit last applied (succeeded or no-op); a revision that does not descend from it
    # is recorded as a rewrite of history. Seeded from the audit log at start-up.
    last_applied: str | None = None
    _repo_lock: threading.Lock = field(default_factory=threading.Lock)
    # gpuctl.yaml `verify`: signed commits, judged by the policy of the last trusted revision.
    trust: CommitTrust = field(default_factory=CommitTrust)

    def reconcile(
        self, item: WorkItem, should_stop: StopCheck, may_write: WriteCheck = lambda: True
    ) -> ReconcileReport:
        refused = self._precheck(item.revision)
        if refused is not None:
            return self._invalid(item, RevisionInfo(sha=item.revision, path=self.location.subpath), refused)
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
        sha = None if self.location.working_tree else info.sha
        refused = self.trust.rejection(self.location.path, sha, loaded.state.settings.verify)
        if refused is not None:
            return self._invalid(item, info, refused)
        rendered = render(loaded.state)
        self._tell_managed(loaded.state, rendered)
        if self.on_state is not None:
            self.on_state(loaded.state)
        options = ReconcileOptions(
            prune=self.options.prune, trigger=item.trigger, poll_interval=self.options.poll_interval,
            health_timeout=self.options.health_timeout,
            drain_observer=self.drain_observer(info.sha) if self.drain_observer is not None else None,
        )
        try:
            pools = loaded.state.pools
            clock = StoppableClock(self.clock, lambda: should_stop() or not may_write(),
                                   on_wait=lambda: self._rollout_states(pools))
            result = reconcile(loaded.state, FencedClient(self.client, may_write), clock=clock,
                               revision=info, audit=self.audit, options=options, rendered=rendered)
        except PassInterrupted:
            self._rollout_states(loaded.state.pools)
            failed = ReconcileOutcome.FAILED
            return ReconcileReport(item.revision, failed, error="interrupted", interrupted=True)
        except ReconcileError as exc:  # transient or not, the cluster may change: retry with back-off
            return ReconcileReport(item.revision, ReconcileOutcome.FAILED, error=str(exc), retryable=True)
        applied = result.outcome in (ReconcileOutcome.SUCCEEDED, ReconcileOutcome.NOOP)
        if applied and not self.location.working_tree:
            self.last_applied = info.sha
        return _report(item.revision, result, self._rollout_states(loaded.state.pools))

    def _precheck(self, revision: str) -> str | None:
        """With a signing policy in force, an unsigned revision is refused before it is read."""
        if self.location.working_tree:
            return None
        with self._repo_lock:
            sha = commit_sha(self.location.path, revision)
        if sha is None:
            return None  # reported by the load itself
        return self.trust.precheck(self.location.path, sha)

    def _rollout_states(self, pools: list[GPUNodePool]) -> dict[str, dict[str, int]]:
        """Each pool's nodes by rollout state, read from the live Nodes; reported to on_rollout."""
        if not pools:
            return {}
        try:
            states = rollout_states(pools, self.client.list_objects("v1", "Node"))
        except ReconcileError as exc:
            log.warning("cannot read rollout progress", error=str(exc))
            return {}
        if self.on_rollout is not None:
            self.on_rollout(states)
        return states

    def _load(self, revision: str) -> tuple[LoadResult, RevisionInfo]:
        loaded, info = self._load_revision(revision)
        if loaded.state is not None and loaded.state.built_with:
            log.info("revision built with kustomize", revision=info.sha, tool=loaded.state.built_with)
            info = replace(info, built_with=loaded.state.built_with)
        return loaded, info

    def _load_revision(self, revision: str) -> tuple[LoadResult, RevisionInfo]:
        loc = self.location
        if loc.working_tree:
            directory = loc.path / loc.subpath if loc.subpath else loc.path
            return load_directory(directory), describe_directory(directory)
        with self._repo_lock:
            loaded = load_revision(loc.path, revision, loc.subpath)
            info = describe_revision(loc.path, revision, loc.subpath)
            if self.last_applied and rewrites_history(loc.path, self.last_applied, info.sha):
                log.warning("history rewritten: the new revision does not descend from the one "
                            "applied last (force-push?)", revision=info.sha, previous=self.last_applied)
                info = replace(info, rewrites=self.last_applied)
            return loaded, info

    def _invalid(self, item: WorkItem, info: RevisionInfo, error: str) -> ReconcileReport:
        """All-or-nothing: record the rejected revision, apply nothing, keep the last good one."""
        log.error("revision rejected", revision=item.revision, error=error)
        if self.audit is not None:
            reconcile_id = self.audit.begin(info, item.trigger)
            self.audit.end(reconcile_id, ReconcileOutcome.INVALID, error)
        return ReconcileReport(item.revision, ReconcileOutcome.INVALID, error=error)

    def _tell_managed(self, state: DesiredState, rendered: list[RenderedObject]) -> None:
        if self.on_managed is None:
            return
        objects = cluster_objects(rendered)
        kinds = {(str(r.obj["apiVersion"]), str(r.obj["kind"])) for r in objects}
        pools = state.pools
        node_check = (lambda node: node_drifted(pools, node)) if pools else None
        self.on_managed(kinds, {r.ref for r in objects}, node_check)


def _report(
    revision: str, result: ReconcileResult, rollout_nodes: dict[str, dict[str, int]]
) -> ReconcileReport:
    return ReconcileReport(
        revision=revision,
        outcome=result.outcome,
        changes=result.changes if isinstance(result.changes, ChangeSet) else ChangeSet(),
        error=result.error,
        retryable=result.outcome is ReconcileOutcome.FAILED,
        rollout_nodes=rollout_nodes,
    )
