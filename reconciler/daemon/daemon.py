"""Wiring of the daemon: builds the work queue, the followed repository (local watcher or
remote mirror), the schedule, leader election, the HTTP server and the reconcile loop from
`DaemonSettings`, starts them in order, and stops them in the order that makes SIGTERM
safe: no new triggers, let the pass in progress finish its current write, release the
Lease, close the endpoints. Called by `gpuctl.cli.run_cmd`."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import structlog

from reconciler.daemon.backoff import Backoff
from reconciler.daemon.leader import ElectionTiming, LeaderElector
from reconciler.daemon.leases import LeaseStore
from reconciler.daemon.loop import ReconcileLoop
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.protocols import AlwaysLeader, Leadership, ReconcileRunner, ReportSink
from reconciler.daemon.server import DaemonHTTPServer, Endpoints, parse_listen
from reconciler.daemon.settings import DaemonSettings
from reconciler.daemon.status import StatusBoard
from reconciler.daemon.webhooks import Provider, TokenBucket, WebhookReceiver
from reconciler.daemon.workqueue import WorkQueue
from reconciler.triggers.base import TriggerError
from reconciler.triggers.localgit import LocalRepoWatcher
from reconciler.triggers.remotegit import FetchError, RemoteMirror, RemotePoller
from reconciler.triggers.schedule import TriggerScheduler, resync_job
from schemas.results import Trigger

log = structlog.get_logger("gpuctl.daemon")


@dataclass(frozen=True)
class RepoLocation:
    """Where the runner reads revisions from: a Git repository (or plain directory in
    working-tree mode) and the sub-path of the desired state inside it."""

    path: Path
    subpath: str
    working_tree: bool


RunnerFactory = Callable[[RepoLocation], ReconcileRunner]


class Daemon:
    """One gpuctl replica. `start()` returns once everything runs; `stop()` is idempotent."""

    def __init__(
        self,
        settings: DaemonSettings,
        runner_factory: RunnerFactory,
        *,
        lease_store: LeaseStore | None = None,
        sinks: Sequence[ReportSink] = (),
    ) -> None:
        self.settings = settings
        self.metrics = DaemonMetrics()
        self.queue = WorkQueue()
        self.status = StatusBoard()
        self._scheduler = TriggerScheduler()
        self._watcher: LocalRepoWatcher | None = None
        self._poller: RemotePoller | None = None
        if settings.is_remote:
            mirror = RemoteMirror(settings.repo, settings.branch, settings.cache_dir,
                                  self.metrics.git_fetch_duration.observe)
            self._poller = RemotePoller(mirror, self.submit, self._fetch_failed,
                                        lambda: self.metrics.git_source_reachable.set(1))
            self.location = RepoLocation(mirror.path, settings.path, working_tree=False)
        else:
            self._watcher = LocalRepoWatcher(Path(settings.repo), settings.branch, self.submit,
                                             working_tree=settings.working_tree, subpath=settings.path)
            self.location = RepoLocation(self._watcher.root, settings.path, settings.working_tree)
        self.elector: LeaderElector | None = None
        leadership: Leadership = AlwaysLeader()
        if lease_store is not None and settings.leader_elect:
            timing = ElectionTiming(settings.lease_duration, settings.renew_deadline, settings.retry_period)
            self.elector = LeaderElector(
                lease_store, settings.identity, timing, on_change=self._leadership_changed
            )
            leadership = self.elector
        self.metrics.leader.set(1 if self.elector is None else 0)
        self.loop = ReconcileLoop(
            self.queue, runner_factory(self.location), leadership=leadership, metrics=self.metrics,
            backoff=Backoff(settings.backoff_base, settings.backoff_cap), sinks=[self.status, *sinks],
        )
        webhooks = None
        if settings.webhook_secret is not None:
            webhooks = WebhookReceiver(
                settings.webhook_secret.get_secret_value().encode(), self._webhook_push,
                branch=settings.branch, max_body_bytes=settings.webhook_max_bytes,
                rate_limit=TokenBucket(settings.webhook_rate_per_s, settings.webhook_burst),
            )
        endpoints = Endpoints(self.metrics, self.healthy, self.ready, self._status, webhooks)
        self.http = DaemonHTTPServer(parse_listen(settings.listen), endpoints)
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="gpuctl-loop", daemon=True)
        self._stopped = threading.Event()
        self._http_thread: threading.Thread | None = None

    def _fetch_failed(self) -> None:
        self.metrics.git_fetch_errors_total.inc()
        self.metrics.git_source_reachable.set(0)

    # --- triggers -------------------------------------------------------------------------
    def submit(self, revision: str, trigger: Trigger) -> None:
        """Every trigger's way into the work queue."""
        self.metrics.triggers_total.labels(trigger=trigger.value).inc()
        self.queue.submit(revision, trigger)

    def current_revision(self) -> str:
        if self._poller is not None:
            return self._poller.mirror.current()
        assert self._watcher is not None
        return self._watcher.current()

    def request_reconcile(self, trigger: Trigger, **why: str) -> None:
        """Ask for a reconcile of the current revision (start-up, new leader, drift)."""
        try:
            revision = self.current_revision()
        except (FetchError, TriggerError) as exc:
            log.error("cannot read the repository", error=str(exc), trigger=trigger.value)
            return
        if why:
            log.info("reconcile requested", trigger=trigger.value, **why)
        if self._poller is not None:
            self._poller.mark_seen(revision)
        self.submit(revision, trigger)

    def _webhook_push(self, provider: Provider) -> None:
        if self._poller is not None:
            poller = self._poller
            self._scheduler.soon(lambda: poller.poll(Trigger.WEBHOOK), "webhook-fetch")
        elif self._watcher is not None:
            self._scheduler.soon(self._watcher.check, "webhook-check")

    def _leadership_changed(self, leading: bool) -> None:
        self.metrics.leader.set(1 if leading else 0)
        if leading and not self._stopped.is_set():  # reconcile at once, resuming any rollout
            # Not in the elector's thread: a slow fetch there would delay the Lease renewals.
            self._scheduler.soon(lambda: self.request_reconcile(Trigger.STARTUP), "leader-startup")

    # --- endpoints ------------------------------------------------------------------------
    def healthy(self) -> bool:
        return self._loop_thread.is_alive() and not self._stopped.is_set()

    def ready(self) -> bool:
        """The process can serve: its HTTP server (health, metrics and the webhook receiver) is
        running, and so are the reconcile loop and the leadership loop, as Flux's and Argo CD's
        controllers count readiness. Whether the last reconcile succeeded is told by /status,
        the metrics and the Events, never here: a failing revision must not take the pod out of
        its Service, or the webhook bringing the fixing commit could not reach it."""
        serving = self._http_thread is not None and self._http_thread.is_alive()
        electing = self.elector is None or self.elector.running()
        return serving and electing and self.healthy()

    def _status(self) -> dict[str, object]:
        item = self.queue.waiting()
        waiting = None if item is None else {"revision": item.revision, "trigger": item.trigger.value}
        holder = self.elector.holder() if self.elector is not None else None
        return self.status.snapshot(
            identity=self.settings.identity,
            leader=self.elector.is_leader() if self.elector is not None else True,
            lease_holder=holder.as_json() if holder is not None else None,
            reconcile_failing=self.loop.failing,
            waiting=waiting,
        )

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._http_thread = self.http.start()
        self._loop_thread.start()
        if self._poller is not None:
            self._scheduler.every(self.settings.poll_interval, self._poller.poll, "poll")
        elif self._watcher is not None:
            self._watcher.start()
        self._scheduler.every(self.settings.resync_interval,
                              resync_job(_CurrentRevision(self), self.submit), "resync")
        self._scheduler.start()
        if self.elector is not None:
            self.elector.start()  # the first reconcile is submitted when leadership is won
        else:
            self.request_reconcile(Trigger.STARTUP)
        log.info("daemon started", listen=f"http://{self.settings.listen}", repo=self.settings.repo,
                 branch=self.settings.branch, identity=self.settings.identity)

    def stop(self) -> None:
        """Stop triggers, let the pass in progress finish its current write, release the Lease."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        log.info("daemon stopping")
        if self._watcher is not None:
            self._watcher.stop()
        self._scheduler.shutdown()
        self.loop.stop()
        if self._loop_thread.is_alive():
            self._loop_thread.join()
        if self.elector is not None:
            self.elector.stop()
        self.metrics.leader.set(0)
        if self._http_thread is not None:
            self.http.shutdown()  # waits for serve_forever, so only after it was started
        self.http.server_close()
        log.info("daemon stopped")

    def run_until_signalled(self) -> None:
        """Start, wait for SIGTERM or SIGINT, stop. Must run in the main thread."""
        received = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal received", signal=signal.Signals(signum).name)
            received.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not received.wait(1.0):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _CurrentRevision:
    """The daemon's current revision as a `RevisionSource` for the resync job."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    def current(self) -> str:
        return self._daemon.current_revision()
