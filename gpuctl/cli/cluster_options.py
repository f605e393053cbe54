"""Options shared by the commands that talk to a cluster (`diff`, `apply`), and the loading
of a desired-state revision for them. Wiring only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpuctl.cli import errors

if TYPE_CHECKING:
    from reconciler.cluster import KubeClusterClient
    from schemas.desired import DesiredState
    from schemas.results import RevisionInfo

EXIT_ERROR = 2

KubeconfigOption = Annotated[
    Path | None, typer.Option("--kubeconfig", help="kubeconfig file [default: $KUBECONFIG or ~/.kube/config]")
]
ContextOption = Annotated[str | None, typer.Option("--context", help="kubeconfig context to use")]
SandboxOption = Annotated[
    str | None,
    typer.Option("--sandbox", help="a gpuctl sandbox: its kubeconfig file or its http(s) URL"),
]


def fail(message: str) -> typer.Exit:
    """Print `message` to stderr; the Exit to raise for exit code 2."""
    return errors.fail(message, EXIT_ERROR)


def connect(kubeconfig: Path | None, context: str | None, sandbox: str | None) -> KubeClusterClient:
    from reconciler.cluster import ConnectionSpec, KubeClusterClient
    from reconciler.errors import ReconcileError

    spec = ConnectionSpec(str(kubeconfig) if kubeconfig else None, context, sandbox)
    try:
        return KubeClusterClient.connect(spec)
    except ReconcileError as exc:
        raise fail(str(exc)) from exc


def reach(client: KubeClusterClient) -> None:
    """Exit 2 unless the API server answers (before anything is written on this machine)."""
    from reconciler.errors import ReconcileError

    try:
        client.kind_info("v1", "Namespace")
    except ReconcileError as exc:
        client.close()
        raise fail(str(exc)) from exc  # unreachable: the one kubectl-like line; else the server's answer


RevisionOption = Annotated[
    str | None,
    typer.Option("--revision", help="use this Git revision of the repository holding PATH (no checkout)"),
]


def load(path: Path, revision: str | None = None) -> DesiredState:
    """Load the repository at `path` (or its tree at Git `revision`). Exit 2 printing every
    diagnostic when it is invalid (all-or-nothing: nothing is applied from a bad revision)."""
    from gpuctl.cli.loading import load_path

    if not path.is_dir():
        raise fail(f"{path} is not a directory")
    loaded = load_path(path, revision)
    for diagnostic in loaded.diagnostics:
        typer.echo(str(diagnostic), err=True)
    if not loaded.ok or loaded.state is None:
        raise fail(f"{path} is not a valid desired-state repository; nothing was applied")
    return loaded.state


def revision_of(path: Path, revision: str | None = None) -> RevisionInfo:
    """What the audit records: the Git commit (`revision`, else the one checked out) holding
    `path`, with its author and subject; `working-tree` outside Git."""
    from reconciler.source.revision import describe_commit, describe_directory

    return describe_commit(path, revision) if revision else describe_directory(path)


def is_terminal() -> bool:
    return sys.stdout.isatty()
