"""`gpuctl run`: the in-cluster daemon. Follows a Git repository (local path or URL),
reconciles on commits, webhooks, drift and a periodic resync, with leader election.
Settings: flags > GPUCTL_* environment variables > the settings file (--config).
Exit codes: 0 after SIGTERM/SIGINT, 2 on bad settings or when the cluster cannot be reached."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from gpuctl.cli.errors import fail

EXIT_USAGE = 2


def run(
    *,
    repo: Annotated[str | None, typer.Option("--repo", help="local path or Git URL [default: .]")] = None,
    branch: Annotated[str | None, typer.Option("--branch", help="branch to follow [default: main]")] = None,
    path: Annotated[str | None, typer.Option("--path", help="sub-directory of the desired state")] = None,
    working_tree: Annotated[
        bool | None, typer.Option("--working-tree", help="follow uncommitted edits of a local path")
    ] = None,
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="kubeconfig of the cluster")] = None,
    context: Annotated[str | None, typer.Option("--context", help="kubeconfig context to use")] = None,
    in_cluster: Annotated[
        bool | None, typer.Option("--in-cluster", help="use the Pod's service account")
    ] = None,
    sandbox: Annotated[
        bool | None, typer.Option("--sandbox", help="start and use the embedded sandbox cluster")
    ] = None,
    listen: Annotated[
        str | None, typer.Option("--listen", help="HOST:PORT for webhooks, health, metrics")
    ] = None,
    audit_db: Annotated[Path | None, typer.Option("--audit-db", "--db", help="audit log file")] = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="where remote clones live")] = None,
    poll_interval: Annotated[
        str | None, typer.Option("--poll-interval", help="remote fetch interval, e.g. 60s")
    ] = None,
    resync_interval: Annotated[
        str | None, typer.Option("--resync-interval", help="full resync interval, e.g. 10m")
    ] = None,
    prune: Annotated[bool | None, typer.Option("--prune", help="delete objects gone from Git")] = None,
    leader_elect: Annotated[
        bool | None, typer.Option("--leader-elect/--no-leader-elect", help="elect a leader on a Lease")
    ] = None,
    lease_namespace: Annotated[
        str | None, typer.Option("--lease-namespace", help="namespace of the Lease [default: gpuctl-system]")
    ] = None,
    identity: Annotated[str | None, typer.Option("--identity", help="this replica's Lease identity")] = None,
    capture: Annotated[
        bool | None, typer.Option("--capture/--no-capture", help="record the GPU jobs that run")
    ] = None,
    log_format: Annotated[
        Literal["auto", "json", "console"] | None,
        typer.Option("--log-format", help="auto: JSON unless stderr is a terminal"),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", envvar="GPUCTL_CONFIG", help="settings file (YAML)")
    ] = None,
) -> None:
    """Run the GitOps daemon: reconcile on every commit, webhook, drift and resync.

    Example: gpuctl run --repo https://git.example.com/gpu-state.git --kubeconfig ~/.kube/config
    """
    from reconciler.daemon import logs
    from reconciler.daemon.settings import SettingsError, load_settings
    from reconciler.errors import ReconcileError

    flags: dict[str, Any] = {
        name: value for name, value in {
            "repo": repo, "branch": branch, "path": path, "working_tree": working_tree,
            "kubeconfig": kubeconfig, "context": context, "in_cluster": in_cluster, "sandbox": sandbox,
            "listen": listen,
            "audit_db": audit_db, "cache_dir": cache_dir, "poll_interval": poll_interval,
            "resync_interval": resync_interval, "prune": prune, "leader_elect": leader_elect,
            "lease_namespace": lease_namespace,
            "identity": identity, "log_format": log_format, "capture": capture,
        }.items() if value is not None
    }
    try:
        settings = load_settings(flags, config)
    except SettingsError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    logs.configure(settings.log_format)
    from gpuctl.assembly import assemble
    from reconciler.audit.errors import AuditError
    from reconciler.triggers.base import TriggerError

    try:
        with assemble(settings) as assembled:
            assembled.daemon.run_until_signalled()
    except (TriggerError, ReconcileError, AuditError, OSError, ValueError) as exc:
        raise fail(str(exc), EXIT_USAGE) from exc


def register(app: typer.Typer) -> None:
    app.command("run")(run)
