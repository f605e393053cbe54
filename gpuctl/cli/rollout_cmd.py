"""`gpuctl rollout status|retry|abort|pause|resume`: see and recover a pool's GPU node rollout
(as `kubectl rollout` and Argo Rollouts do). Every command that writes records its writes in
the audit log and posts an Event on each Node it changed. Wiring only: the work is in
`reconciler.rollout.commands` and `reconciler.rollout.status_view`."""

from __future__ import annotations

import dataclasses
import getpass
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpuctl.cli.cluster_options import (
    ContextOption,
    KubeconfigOption,
    SandboxOption,
    connect,
    fail,
    load,
    reach,
    revision_of,
)
from gpuctl.cli.errors import error
from gpuctl.cli.output import Output, OutputOption, dump
from gpuctl.cli.state_dir import DB_HELP, default_audit_db, open_dir
from gpuctl.cli.state_dir import operator as operator_of

if TYPE_CHECKING:
    from reconciler.apply.recorder import ChangeRecorder
    from reconciler.cluster import KubeClusterClient
    from reconciler.rollout.commands import Done
    from reconciler.rollout.drain_progress import DrainObserver, DrainReport
    from schemas.desired import DesiredState

EXIT_FAILED = 1

app = typer.Typer(
    help="See and recover GPU node rollouts: status, retry, abort, pause, resume.\n\n"
    "Example: gpuctl rollout status --repo desired_state",
    no_args_is_help=True,
)

PoolArgument = Annotated[str, typer.Argument(help="GPUNodePool name", metavar="POOL")]
RepoOption = Annotated[
    Path | None,
    typer.Option("--repo", help="desired-state repository: lists every node of the pool and its policy"),
]
AuditDbOption = Annotated[
    Path | None,
    typer.Option("--audit-db", "--db", help=DB_HELP),
]
_EVENT_REASONS = {"retry": "RolloutRetried", "abort": "RolloutAborted", "pause": "RolloutPaused",
                  "resume": "RolloutResumed"}  # fmt: skip


class DrainPrinter:
    """Blocked drains on stderr while `gpuctl apply` or `gpuctl rollout retry` waits."""

    def drain_blocked(self, report: DrainReport) -> None:
        typer.echo(f"gpuctl: Node/{report.node}: {report.message()}", err=True)

    def drain_ended(self, pool: str, node: str, *, drained: bool) -> None:
        if drained:
            typer.echo(f"gpuctl: Node/{node}: drained", err=True)


@contextmanager
def drain_observer(
    kubeconfig: Path | None, context: str | None, sandbox: str | None, revision: str
) -> Iterator[DrainObserver]:
    """For `gpuctl apply`: blocked drains printed on stderr and posted as Node Events."""
    from reconciler.cluster import ConnectionSpec
    from reconciler.cluster.connection import api_client_for
    from reconciler.cluster.events import KubeEventRecorder
    from reconciler.rollout.drain_progress import DrainEvents, DrainObservers

    api: Any = api_client_for(ConnectionSpec(str(kubeconfig) if kubeconfig else None, context, sandbox))
    try:
        events = DrainEvents(KubeEventRecorder(api, f"gpuctl-cli@{socket.gethostname()}"), revision)
        yield DrainObservers(DrainPrinter(), events)
    finally:
        api.close()


def operator() -> str:
    """Who runs the command, for the audit log and the Events."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _state(repo: Path | None) -> DesiredState | None:
    return None if repo is None else load(repo)


@dataclasses.dataclass(frozen=True)
class _Target:
    """The cluster a rollout command works on, as its options name it."""

    kubeconfig: Path | None
    context: str | None
    sandbox: str | None


@contextmanager
def _audited(
    command: str, pool: str, repo: Path | None, audit_db: Path | None, *, client: KubeClusterClient,
    target: _Target,
) -> Iterator[tuple[ChangeRecorder, Callable[[bool], None]]]:  # fmt: skip
    """A recorder whose entries go to the audit log under one manual reconcile record."""
    from reconciler.apply.recorder import ChangeRecorder
    from reconciler.audit import AuditError, SqliteAuditLog
    from schemas.results import ReconcileOutcome, RevisionInfo, Trigger

    reach(client)  # a cluster out of reach leaves no audit database or state directory behind
    db = default_audit_db(client.server, audit_db)
    try:
        open_dir(db)
        audit = SqliteAuditLog(db)
    except (AuditError, OSError) as exc:
        raise fail(f"cannot open the audit log {db}: {exc}") from exc
    sha = revision_of(repo).sha if repo is not None else ""
    revision = RevisionInfo(
        sha, author=operator(), message=f"gpuctl rollout {command} {pool}",
        operator=operator_of(target.kubeconfig, target.context, target.sandbox),
    )  # fmt: skip
    reconcile_id = audit.begin(revision, Trigger.MANUAL)
    recorder = ChangeRecorder(audit, reconcile_id)
    outcome: list[bool] = [True]
    try:
        yield recorder, lambda ok: outcome.__setitem__(0, ok)
    except BaseException as exc:
        recorder.end()
        audit.end(reconcile_id, ReconcileOutcome.FAILED, f"{type(exc).__name__}: {exc}")
        audit.close()
        raise
    recorder.end()
    result = ReconcileOutcome.SUCCEEDED if recorder.changes.changed() else ReconcileOutcome.NOOP
    audit.end(reconcile_id, result if outcome[0] else ReconcileOutcome.FAILED)
    audit.close()


def _post_events(
    command: str, done: list[Done], kubeconfig: Path | None, context: str | None, sandbox: str | None
) -> None:
    """One Event per changed Node (best effort, as the daemon posts them)."""
    if not done:
        return
    from reconciler.cluster import ConnectionSpec
    from reconciler.cluster.connection import api_client_for
    from reconciler.cluster.events import KubeEventRecorder
    from schemas.refs import ObjectRef

    api: Any = api_client_for(ConnectionSpec(str(kubeconfig) if kubeconfig else None, context, sandbox))
    try:
        recorder = KubeEventRecorder(api, f"gpuctl-cli@{socket.gethostname()}")
        for item in done:
            recorder.record(
                ObjectRef("", "Node", "", item.node), reason=_EVENT_REASONS[command],
                message=f"{item.message} (by {operator()})", revision="",
            )  # fmt: skip
    finally:
        api.close()


def _print_done(done: list[Done], nothing: str) -> None:
    for item in done:
        typer.echo(f"Node/{item.node} {item.action.value} ({item.message})")
    if not done:
        typer.echo(nothing)


@app.command("status")
def status(
    pool: Annotated[
        str | None, typer.Argument(help="GPUNodePool name [default: every pool]", metavar="POOL")
    ] = None,
    *,
    repo: RepoOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    sandbox: SandboxOption = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """Per node of a rollout: phase, since when, and what blocks it.

    Example: gpuctl rollout status h100-inference --repo desired_state
    """
    from reconciler.rollout.status_view import rollout_status

    state = _state(repo)
    client = connect(kubeconfig, context, sandbox)
    try:
        statuses = rollout_status(client, state.pools if state else None, pool)
    finally:
        client.close()
    if output is not Output.TEXT:
        typer.echo(dump({"nodes": [s.as_dict() for s in statuses]}, output))
        return
    if not statuses:
        typer.echo(f"no rollout in progress{f' in pool {pool}' if pool else ''}")
        return
    now = time.time()
    rows = [("POOL", "NODE", "PHASE", "SINCE", "BLOCKED BY")]
    for s in statuses:
        since = _age(now - s.since) if s.since else "-"
        blocked = list(s.blocked_by) or ["-"]
        rows.append((s.pool, s.node, s.phase + (" (paused)" if s.paused else ""), since, blocked[0]))
        rows += [("", "", "", "", line) for line in blocked[1:]]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
        )


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


@app.command("retry")
def retry(
    pool: PoolArgument,
    node: Annotated[
        str | None, typer.Argument(help="only this node [default: every failed node]", metavar="NODE")
    ] = None,
    *,
    repo: Annotated[
        Path | None,
        typer.Option("--repo", help="desired-state repository: continue the pool's rollout now, to its end"),
    ] = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    sandbox: SandboxOption = None,
    audit_db: AuditDbOption = None,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="seconds between checks", min=0.01)
    ] = 1.0,
) -> None:
    """Try failed nodes of POOL again (once their cause is gone). Exit 0 done, 1 failed again.

    Example: gpuctl rollout retry h100-inference --repo desired_state
    """
    from reconciler.clock import SystemClock
    from reconciler.errors import ReconcileError
    from reconciler.rollout import commands
    from reconciler.rollout.runner import RolloutRunner

    state = _state(repo)
    client = connect(kubeconfig, context, sandbox)
    try:
        target = _Target(kubeconfig, context, sandbox)
        with _audited("retry", pool, repo, audit_db, client=client, target=target) as (recorder, set_ok):
            try:
                nodes = commands.pool_nodes(client, pool, state.pools if state else None)
                done = commands.retry(client, recorder, pool, nodes, now=SystemClock().now(), only=node)
            except ReconcileError as exc:
                set_ok(False)
                raise fail(str(exc)) from exc
            _post_events("retry", done, kubeconfig, context, sandbox)
            _print_done(done, f"no failed node in pool {pool}")
            if state is None:
                if done:
                    typer.echo("the next pass (gpuctl apply, or the daemon) continues the rollout")
                return
            if pool not in {p.metadata.name for p in state.pools}:
                set_ok(False)
                raise fail(f"{repo} has no GPUNodePool {pool}")
            with drain_observer(kubeconfig, context, sandbox, recorder.reconcile_id) as observer:
                runner = RolloutRunner(
                    client, SystemClock(), recorder, poll_interval=poll_interval, drain_observer=observer
                )
                reports = runner.run(state.pools, only=pool)
            for report in reports:
                typer.echo(
                    f"GPUNodePool/{report.pool}: {len(report.rolled)} nodes reconfigured, "
                    f"{len(report.failed)} failed, {len(report.queue)} not started"
                    + (" (paused)" if report.paused else "")
                )
                for name, reason in report.failed.items():
                    error(f"Node/{name}: {reason}")
            if any(r.failed for r in reports):
                set_ok(False)
                raise typer.Exit(EXIT_FAILED)
    finally:
        client.close()


def _simple(command: str) -> Callable[..., None]:
    def run(
        pool: PoolArgument,
        *,
        repo: RepoOption = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
        sandbox: SandboxOption = None,
        audit_db: AuditDbOption = None,
    ) -> None:
        from reconciler.errors import ReconcileError
        from reconciler.rollout import commands

        state = _state(repo)
        client = connect(kubeconfig, context, sandbox)
        try:
            target = _Target(kubeconfig, context, sandbox)
            with _audited(command, pool, repo, audit_db, client=client, target=target) as (recorder, set_ok):
                nodes = commands.pool_nodes(client, pool, state.pools if state else None)
                try:
                    if command == "abort":
                        done = commands.abort(client, recorder, pool, nodes, who=operator())
                    elif command == "pause":
                        done = commands.pause(client, recorder, pool, nodes, who=operator())
                    else:
                        done = commands.resume(client, recorder, pool, nodes)
                except ReconcileError as exc:
                    set_ok(False)
                    raise fail(str(exc)) from exc
                _post_events(command, done, kubeconfig, context, sandbox)
                _print_done(done, f"nothing to {command} in pool {pool}")
        finally:
            client.close()

    return run


_HELP = {
    "abort": "Stop POOL's rollout: uncordon what gpuctl cordoned, clear gpuctl's annotations and "
    "waiting taints, keep the labels; the pool stays paused until `gpuctl rollout resume`.\n\n"
    "Example: gpuctl rollout abort h100-inference",
    "pause": "Leave POOL's rollout alone (gpuctl apply and the daemon skip it) until resumed.\n\n"
    "Example: gpuctl rollout pause h100-inference --repo desired_state",
    "resume": "Let gpuctl apply and the daemon roll POOL out again.\n\n"
    "Example: gpuctl rollout resume h100-inference",
}
for _command in ("abort", "pause", "resume"):
    app.command(_command, help=_HELP[_command])(_simple(_command))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="rollout")
