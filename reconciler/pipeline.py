"""One reconcile pass: plan → staged apply → node pool labels → GPU rollouts → prune → record.

Called by `gpuctl apply`/`gpuctl diff` and by the daemon with a loaded, rendered revision;
calls `reconciler.{apply, rollout, planning}` through the `ClusterClient`, `AuditSink` and
`Clock` seams. The audit record is always closed (succeeded / failed / noop), also when the
pass is interrupted, and every cluster write reaches the audit sink before the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.apply.applier import Applier, Outcome
from reconciler.apply.crds import wait_established
from reconciler.apply.intents import settle_orphaned_intents
from reconciler.apply.inventory_store import InventoryStore
from reconciler.apply.pruning import PruneOptions, Pruner
from reconciler.apply.recorder import ChangeRecorder
from reconciler.apply.snapshot import take_snapshot
from reconciler.apply.tenancy import enforce
from reconciler.errors import ApiUnreachableError, ReconcileError, TransientError
from reconciler.health.assess import HealthReport, wait_healthy
from reconciler.last_reconcile import LastReconcile, needs_write, record_of
from reconciler.planning.inventory import Inventory
from reconciler.planning.pairing import Pair, plan
from reconciler.protocols import AuditSink, Clock, ClusterClient, KubeObject
from reconciler.render import RenderedObject, cluster_objects, render
from reconciler.render.order import CRDS, NODE_POOLS, STAGE_NAMES
from reconciler.rollout.drain_progress import DrainObserver
from reconciler.rollout.node_state import apply_node_state
from reconciler.rollout.runner import PoolRollout, RolloutRunner
from schemas.desired import DesiredState
from schemas.refs import ObjectRef
from schemas.results import Action, ChangeSet, HealthCode, ReconcileOutcome, RevisionInfo, Trigger


@dataclass(frozen=True)
class ReconcileOptions:
    dry_run: bool = False
    prune: bool = False
    allow_empty: bool = False
    allow_crd_prune: bool = False
    trigger: Trigger = Trigger.MANUAL
    poll_interval: float = 1.0
    crd_timeout: float = 120.0
    # Wait up to this long for the applied objects to become healthy (None: do not assess).
    health_timeout: float | None = None
    # Told about drains that wait (pods left, PDB refusals) while a rollout runs.
    drain_observer: DrainObserver | None = None


@dataclass
class ReconcileResult:
    revision: RevisionInfo
    outcome: ReconcileOutcome = ReconcileOutcome.NOOP
    changes: ChangeSet = field(default_factory=ChangeSet)
    outcomes: list[Outcome] = field(default_factory=list)
    rollouts: list[PoolRollout] = field(default_factory=list)
    pending_rollouts: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    reconcile_id: str | None = None
    health: HealthReport | None = None
    # The pass stopped on an error worth retrying soon (429/5xx/timeouts, CRD not yet served).
    retryable: bool = False
    # The pass could not reach the API server at all (`error` says where and why).
    unreachable: bool = False
    # Why the in-cluster record of this pass could not be written (it never fails the pass).
    record_error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes.changed()) or bool(self.pending_rollouts)


def reconcile(
    state: DesiredState,
    client: ClusterClient,
    *,
    clock: Clock,
    revision: RevisionInfo,
    audit: AuditSink | None = None,
    options: ReconcileOptions | None = None,
    rendered: list[RenderedObject] | None = None,
) -> ReconcileResult:
    """Run one pass over `state`: its rendered manifests, then its GPUNodePools. `rendered`
    is `render(state)` when the caller has it already (rendered once per pass)."""
    options = options or ReconcileOptions()
    sink = None if options.dry_run else audit
    reconcile_id = sink.begin(revision, options.trigger) if sink is not None else ""
    recorder = ChangeRecorder(sink, reconcile_id)
    result = ReconcileResult(revision, changes=recorder.changes, reconcile_id=reconcile_id or None)
    the_pass = _Pass(
        state, client=client, clock=clock, options=options, recorder=recorder, result=result,
        rendered=rendered,
    )
    try:
        the_pass.run()
    except ReconcileError as exc:
        result.outcome, result.error = ReconcileOutcome.FAILED, str(exc)
        result.retryable = isinstance(exc, TransientError)
        result.unreachable = isinstance(exc, ApiUnreachableError)
    except BaseException as exc:
        recorder.end()
        if sink is not None:
            sink.end(reconcile_id, ReconcileOutcome.FAILED, f"interrupted: {type(exc).__name__}: {exc}")
        raise
    else:
        result.outcome = _outcome(result)
    recorder.end()
    if not options.dry_run and the_pass.store is not None:  # audited, but not one of the pass's changes
        _save_record(the_pass.store, state, options, result, ChangeRecorder(sink, reconcile_id))
    if sink is not None:
        sink.end(reconcile_id, result.outcome, result.error)
    return result


def _save_record(store: InventoryStore, state: DesiredState, options: ReconcileOptions,
                 result: ReconcileResult, recorder: ChangeRecorder) -> None:  # fmt: skip
    """Update the in-cluster record of the last reconcile when this pass wrote something or
    its verdict changed (a no-op pass stays zero-write); best effort, it never fails the pass.
    The write goes to the audit log under this reconcile (`recorder`) but is not one of the
    pass's changes: it is gpuctl's status, and it does not alter the outcome."""
    new = LastReconcile.of_pass(
        result.revision, result.outcome, trigger=options.trigger, entries=result.changes.entries,
        pools=state.pools, error=result.error,
    )
    try:
        stored = record_of(store.record_text)
    except ReconcileError:
        stored = None  # an unreadable record is replaced
    if not needs_write(stored, new, wrote=bool(result.changes.changed())):
        return
    try:
        store.save_record(new.annotation(), recorder)
    except ReconcileError as exc:
        recorder.abandon(store.ref, f"record not written: {exc}")
        result.record_error = str(exc)


def _outcome(result: ReconcileResult) -> ReconcileOutcome:
    failed = any(e.action in (Action.FAILED, Action.ROLLOUT_FAILED) for e in result.changes.entries)
    unhealthy = result.health is not None and (
        result.health.timed_out or result.health.overall.code >= HealthCode.DEGRADED
    )
    if failed or unhealthy or any(r.failed for r in result.rollouts):
        if result.error is None:
            result.error = _failure_summary(result)
        return ReconcileOutcome.FAILED
    return ReconcileOutcome.SUCCEEDED if result.changes.changed() else ReconcileOutcome.NOOP


def _failure_summary(result: ReconcileResult) -> str:
    lines = [f"{e.ref}: {e.error}" for e in result.changes.entries if e.action is Action.FAILED]
    for rollout in result.rollouts:
        lines += [f"Node/{node}: {reason}" for node, reason in rollout.failed.items()]
    if result.health is not None:
        bad = [(r, s) for r, s in result.health.statuses.items() if s.code > HealthCode.PROGRESSING]
        if result.health.timed_out:
            bad += [(r, s) for r, s in result.health.statuses.items() if s.code is HealthCode.PROGRESSING]
        lines += [f"{ref}: {status.code.name.lower()}: {status.message}" for ref, status in bad]
    return "; ".join(lines[:10]) + (f" (+{len(lines) - 10} more)" if len(lines) > 10 else "")


class _Pass:
    """The stages of one pass, sharing the client, clock, options and recorder."""

    def __init__(
        self,
        state: DesiredState,
        *,
        client: ClusterClient,
        clock: Clock,
        options: ReconcileOptions,
        recorder: ChangeRecorder,
        result: ReconcileResult,
        rendered: list[RenderedObject] | None = None,
    ) -> None:
        self.state = state
        self.rendered = rendered
        self.client = client
        self.clock = clock
        self.options = options
        self.recorder = recorder
        self.result = result
        self.store: InventoryStore | None = None

    def run(self) -> None:
        client, options = self.client, self.options
        if not options.dry_run:  # writes a crash left unrecorded are recorded before any new one
            settle_orphaned_intents(client, self.recorder)
        rendered = self.rendered if self.rendered is not None else render(self.state)
        objects = [(item.stage, _with_namespace(client, item.obj)) for item in cluster_objects(rendered)]
        enforce((obj for _, obj in objects), self.state.settings.allow)
        store = InventoryStore(client, self.state.settings.namespace)
        inventory = store.load()
        self.store = store
        kinds = {(str(o["apiVersion"]), str(o["kind"])) for _, o in objects}
        kinds |= {(e.api_version, e.kind) for e in inventory.entries}
        the_plan = plan(objects, take_snapshot(client, kinds), inventory)
        applied = self.apply_stages(the_plan.stages)
        tracked = inventory.union(Inventory.of(applied))
        if not options.dry_run:
            store.save(tracked, self.recorder)
        runner = RolloutRunner(
            client, self.clock, self.recorder, poll_interval=options.poll_interval,
            drain_observer=options.drain_observer,
        )
        if options.dry_run:
            self.result.pending_rollouts = runner.pending(self.state.pools, client.list_objects("v1", "Node"))
        else:  # also without pools: nodes left mid-rollout by a removed pool are released
            self.result.rollouts = runner.run(self.state.pools)
        if options.prune:
            prune_options = PruneOptions(allow_empty=options.allow_empty, allow_crds=options.allow_crd_prune)
            pruner = Pruner(
                client, self.recorder, client.list_namespace, prune_options, dry_run=options.dry_run
            )
            remaining = pruner.prune(the_plan, tracked, len(objects))
            if not options.dry_run:
                store.save(remaining, self.recorder)
        if options.health_timeout is not None and not options.dry_run:
            targets = {ObjectRef.of(o): str(o["apiVersion"]) for o in applied}
            self.result.health = wait_healthy(
                client, targets, self.clock, timeout=options.health_timeout, poll=options.poll_interval
            )

    def apply_stages(self, planned: list[tuple[str, list[Pair]]]) -> list[KubeObject]:
        """Apply stage by stage (waiting for new CRDs); return the objects now applied."""
        options = self.options
        rules = self.state.settings.diff_ignore
        stages = dict(planned)
        new_namespaces = [p.ref.name for p in stages.get("namespaces", []) if p.live is None]
        applier = Applier(
            self.client,
            self.recorder,
            ignore_rules=rules,
            dry_run=options.dry_run,
            new_namespaces=new_namespaces,
            defined_namespaces=[p.ref.name for p in stages.get("namespaces", [])],
        )
        applied: list[KubeObject] = []
        for stage in STAGE_NAMES:
            if stage == NODE_POOLS:
                pools = self.state.pools
                self.result.outcomes += apply_node_state(pools, self.client, applier, self.recorder)
            pairs = stages.get(stage, [])
            outcomes = applier.apply_pairs(pairs)
            self.result.outcomes += outcomes
            for pair, outcome in zip(pairs, outcomes, strict=True):
                exists = outcome.entry.action is not Action.FAILED or pair.live is not None
                if pair.desired is not None and exists:
                    applied.append(pair.desired)
            if stage == CRDS and not options.dry_run and any(_wrote(o) for o in outcomes):
                crds = [p.desired for p in pairs if p.desired is not None]
                timeout, poll = options.crd_timeout, options.poll_interval
                wait_established(self.client, crds, self.clock, timeout=timeout, poll=poll)
        return applied


def _wrote(outcome: Outcome) -> bool:
    return outcome.entry.action in (Action.CREATED, Action.CONFIGURED)


def _with_namespace(client: ClusterClient, obj: KubeObject) -> KubeObject:
    """Namespaced objects written without a namespace go to `default`, as kubectl does."""
    meta = obj.get("metadata") or {}
    if meta.get("namespace") or not client.has_kind(str(obj["apiVersion"]), str(obj["kind"])):
        return obj
    if not client.is_namespaced(str(obj["apiVersion"]), str(obj["kind"])):
        return obj
    return {**obj, "metadata": {**meta, "namespace": "default"}}
