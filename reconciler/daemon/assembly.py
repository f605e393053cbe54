"""Puts a daemon together against a real cluster (or a local one the application started and
hands in, see `gpuctl.assembly`): the cluster client, the audit log, the Lease store, the
engine runner and the Kubernetes Events sink. The engine never starts the sandbox itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog

from reconciler.audit import SqliteAuditLog
from reconciler.audit.query import AuditReader
from reconciler.capture.metrics import CaptureMetrics
from reconciler.capture.session import CaptureSession, default_capture_db
from reconciler.capture.store import RetentionPolicy
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.cluster.connection import api_client_for
from reconciler.cluster.events import KubeEventRecorder
from reconciler.cluster.lease_namespace import ensure_lease_namespace
from reconciler.cluster.leases import KubernetesLeaseStore
from reconciler.cluster.watches import DriftWatcher
from reconciler.daemon.daemon import Daemon, RepoLocation
from reconciler.daemon.events import EventsSink
from reconciler.daemon.protocols import ReportSink
from reconciler.daemon.runner import PipelineRunner, RunnerOptions
from reconciler.daemon.settings import DaemonSettings
from reconciler.errors import TerminalError
from reconciler.rollout.drain_progress import DrainBoard, DrainEvents, DrainLog, DrainObserver, DrainObservers
from schemas.refs import ObjectRef
from schemas.results import Trigger

log = structlog.get_logger("gpuctl.daemon")


class LocalCluster(Protocol):
    """A cluster the application started for this daemon (the embedded sandbox)."""

    @property
    def url(self) -> str: ...

    @property
    def kubeconfig_path(self) -> Path: ...


@dataclass
class Assembled:
    daemon: Daemon
    client: KubeClusterClient
    # The sandbox this process started (None when a cluster was configured).
    sandbox: Any = None
    # The workload capture (None unless settings.capture).
    capture: CaptureSession | None = None
    # The drift watches of the managed kinds and pool Nodes (None only in hand-built instances).
    drift: DriftWatcher | None = None


def _capture_session(settings: DaemonSettings, api: Any, stack: ExitStack) -> CaptureSession | None:
    """The workload capture, stopped (its store closed) when the daemon is taken down."""
    if not settings.capture:
        return None
    db = settings.capture_db or default_capture_db(settings.audit_db)
    retention = RetentionPolicy(max_age_s=settings.capture_retention, max_pods=settings.capture_max_pods)
    session = CaptureSession(api, db, retention)
    stack.callback(session.stop)
    log.info("workload capture on", db=str(db))
    return session


def _last_applied(audit_db: Path) -> str | None:
    """The revision the audit log says was applied last (None for a new log)."""
    with AuditReader(audit_db) as reader:
        last = reader.last_applied()
    return None if last is None else last.revision.get("sha") or None


@contextmanager
def assemble(
    settings: DaemonSettings, *, sinks: Sequence[ReportSink] = (), cluster: LocalCluster | None = None
) -> Iterator[Assembled]:
    """A ready (not yet started) daemon; everything it opened is closed on exit. `sinks` are
    told about every finished pass, after the status board and the Kubernetes Events.
    `cluster` is the local cluster to use when the settings name none (or ask for the sandbox)."""
    with ExitStack() as stack:
        if cluster is None and (settings.no_cluster_configured or settings.sandbox):
            raise TerminalError("the settings ask for the embedded sandbox, but none was started: "
                                "use gpuctl.assembly.assemble, which starts it")
        if cluster is not None:
            spec = ConnectionSpec(sandbox=str(cluster.kubeconfig_path))
        else:
            # In a Pod without a kubeconfig, ConnectionSpec() uses the service account.
            spec = ConnectionSpec(
                kubeconfig=str(settings.kubeconfig) if settings.kubeconfig else None, context=settings.context
            )
        client = KubeClusterClient.connect(spec)
        stack.callback(client.close)
        api = api_client_for(spec)
        stack.callback(api.close)
        if settings.leader_elect:  # deploy/ creates it; elsewhere it may be missing
            ensure_lease_namespace(client, settings.lease_namespace, settings.lease_name)
        audit = SqliteAuditLog(settings.audit_db)
        stack.callback(audit.close)
        lease_store = KubernetesLeaseStore(api, settings.lease_namespace, settings.lease_name)
        # Bound late: drift is only reported after the daemon's first pass has run.
        drift = DriftWatcher(api, lambda ref: daemon.request_reconcile(Trigger.DRIFT, ref=str(ref)))
        stack.callback(drift.stop)

        capture = _capture_session(settings, api, stack)

        def runner_factory(location: RepoLocation) -> PipelineRunner:
            options = RunnerOptions(prune=settings.prune, health_timeout=settings.health_timeout or None)
            on_state = (lambda state: capture.recorder.set_pools(state.pools)) if capture else None
            # `daemon` is bound below, after this factory has run: keep the lambda.
            return PipelineRunner(location, client, audit, options, on_managed=drift.follow,
                                  on_rollout=lambda states: daemon.metrics.set_rollout(states),  # noqa: PLW0108
                                  on_state=on_state, last_applied=_last_applied(settings.audit_db),
                                  drain_observer=lambda revision: drain_observers(daemon.drains, revision))

        def drain_observers(board: DrainBoard, revision: str) -> DrainObserver:
            board.clear()
            events = DrainEvents(KubeEventRecorder(api, settings.identity), revision)
            return DrainObservers(DrainLog(), events, board)

        lease = ObjectRef("coordination.k8s.io", "Lease", settings.lease_namespace, settings.lease_name)
        events = EventsSink(KubeEventRecorder(api, settings.identity), subject=lease)
        daemon = Daemon(settings, runner_factory, lease_store=lease_store, sinks=[events, *sinks])
        stack.callback(daemon.stop)
        if capture is not None:
            capture.attach_metrics(CaptureMetrics(daemon.metrics.registry))
            capture.start()
        yield Assembled(daemon, client, cluster, capture, drift)

