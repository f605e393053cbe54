"""`gpuctl apply PATH`: one full reconcile pass (staged server-side apply, GPU node rollouts,
optional prune), recorded in the audit log. A pass with nothing to do writes nothing.
Exit codes: 0 applied (or nothing to do), 1 some change or rollout failed, 2 error."""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from gpuctl.cli.cluster_options import (
    ContextOption,
    KubeconfigOption,
    RevisionOption,
    SandboxOption,
    connect,
    fail,
    load,
    reach,
    revision_of,
)
from gpuctl.cli.errors import error
from gpuctl.cli.output import LegacyFormatOption, Output, OutputOption, chosen, reformat
from gpuctl.cli.state_dir import DB_HELP, default_audit_db, open_dir, operator

EXIT_FAILED = 1


def apply(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="desired-state repository (directory)")],
    *,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    sandbox: SandboxOption = None,
    revision: RevisionOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="report what would change; write nothing")
    ] = False,
    prune: Annotated[bool, typer.Option("--prune", help="delete applied objects no longer in Git")] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="allow pruning everything when the revision is empty")
    ] = False,
    prune_crds: Annotated[
        bool, typer.Option("--prune-crds", help="with --prune, also delete CustomResourceDefinitions")
    ] = False,
    audit_db: Annotated[
        Path | None,
        typer.Option("--audit-db", "--db", help=DB_HELP),
    ] = None,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="seconds between checks while waiting", min=0.01)
    ] = 1.0,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="wait for the applied objects to become healthy (fails fast on Degraded)"
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="seconds --wait may take at most", min=0)
    ] = 300.0,
    output: OutputOption = Output.TEXT,
    legacy_format: LegacyFormatOption = None,
) -> None:
    """Reconcile the cluster to PATH once. Exit 0 done, 1 a change or rollout failed, 2 error.

    Example: gpuctl apply desired_state --kubeconfig ~/.kube/config --wait
    """
    from gpuctl.cli import apply_report
    from gpuctl.cli.rollout_cmd import drain_observer
    from gpuctl.cli.signing import require_signed
    from reconciler.audit import AuditError, SqliteAuditLog
    from reconciler.clock import SystemClock
    from reconciler.pipeline import ReconcileOptions, reconcile
    from schemas.results import ReconcileOutcome

    state = load(path, revision)
    applied_revision = revision_of(path, revision)
    if state.built_with:  # the audit log names the kustomize that built the revision
        applied_revision = dataclasses.replace(applied_revision, built_with=state.built_with)
    if not dry_run:
        require_signed(path, applied_revision, state.settings.verify)
    applied_revision = dataclasses.replace(applied_revision, operator=operator(kubeconfig, context, sandbox))
    client = connect(kubeconfig, context, sandbox)
    reach(client)  # a cluster out of reach leaves no audit database or state directory behind
    db = default_audit_db(client.server, audit_db)
    audit = None
    stack = ExitStack()
    try:
        if not dry_run:
            try:
                open_dir(db)
                audit = SqliteAuditLog(db)
            except (AuditError, OSError) as exc:
                raise fail(f"cannot open the audit log {db}: {exc}") from exc
        options = ReconcileOptions(
            dry_run=dry_run,
            prune=prune,
            allow_empty=allow_empty,
            allow_crd_prune=prune_crds,
            poll_interval=poll_interval,
            health_timeout=timeout if wait else None,
            drain_observer=None
            if dry_run
            else stack.enter_context(drain_observer(kubeconfig, context, sandbox, applied_revision.sha)),
        )
        result = reconcile(
            state,
            client,
            clock=SystemClock(),
            revision=applied_revision,
            audit=audit,
            options=options,
        )
    finally:
        stack.close()
        client.close()
        if audit is not None:
            audit.close()
    if result.unreachable:  # nothing was read or written: the one line, exit 2 as for `diff`
        raise fail(str(result.error))
    output = chosen(output, legacy_format)
    report = apply_report.render(result, "text" if output is Output.TEXT else "json", dry_run=dry_run)
    typer.echo(report if output is Output.TEXT else reformat(report, output))
    if result.outcome is ReconcileOutcome.FAILED:
        error(str(result.error))
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("apply")(apply)
