"""`gpuctl diff PATH`: what a reconcile would change, from server-side dry-runs against the
live objects, normalised and filtered by the ignore rules of `gpuctl.yaml`.
Exit codes (as `flux diff` and `argocd app diff`): 0 no changes, 1 changes, 2 error."""

from __future__ import annotations

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
    is_terminal,
    load,
    revision_of,
)
from gpuctl.cli.output import LegacyFormatOption, Output, chosen, reformat

EXIT_NO_CHANGES = 0
EXIT_CHANGES = 1


def diff(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="desired-state repository (directory)")],
    *,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    sandbox: SandboxOption = None,
    revision: RevisionOption = None,
    output: Annotated[
        Output, typer.Option("-o", "--output", help="text (a unified YAML diff), or json/yaml with patches")
    ] = Output.TEXT,
    legacy_format: LegacyFormatOption = None,
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune", help="also show what pruning would delete")
    ] = True,
) -> None:
    """Show what `gpuctl apply` would change. Exit 0 no changes, 1 changes, 2 error.

    Example: gpuctl diff desired_state --kubeconfig ~/.kube/config -o json
    """
    from gpuctl.cli import diff_render
    from reconciler.clock import SystemClock
    from reconciler.errors import ReconcileError
    from reconciler.pipeline import ReconcileOptions, reconcile
    from reconciler.rollout.gpu_diff import pool_changes
    from schemas.results import Action, ReconcileOutcome

    state = load(path, revision)
    client = connect(kubeconfig, context, sandbox)
    try:
        result = reconcile(
            state,
            client,
            clock=SystemClock(),
            revision=revision_of(path, revision),
            options=ReconcileOptions(dry_run=True, prune=prune, allow_empty=True),
        )
        gpu = []
        if result.pending_rollouts:  # nodes were listed for the pass: the API answers
            try:
                gpu = pool_changes(state, client.list_objects("v1", "Node"), result.pending_rollouts)
            except ReconcileError as exc:
                raise fail(str(exc)) from exc
    finally:
        client.close()
    if result.outcome is ReconcileOutcome.FAILED and result.error:
        raise fail(result.error)  # the pass did not get far enough to show a diff
    output = chosen(output, legacy_format)
    if output is not Output.TEXT:
        typer.echo(reformat(diff_render.as_json(result, gpu), output))
    else:
        diff_render.print_unified(diff_render.unified(result, gpu), colour=is_terminal())
    failures = [e for e in result.changes.entries if e.action is Action.FAILED]
    if result.outcome is ReconcileOutcome.FAILED and (result.error or failures):
        raise fail(result.error or f"{len(failures)} objects could not be dry-run applied")
    raise typer.Exit(EXIT_CHANGES if result.changed else EXIT_NO_CHANGES)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
