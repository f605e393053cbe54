"""Shared by the commands that read a repository (`validate`, `render`): resolve PATH (and
`--revision`) to a `LoadResult`, turning unreadable input into exit code 2."""

from __future__ import annotations

from pathlib import Path

import typer

from gpuctl.cli.errors import fail
from reconciler.source import LoadResult, SourceError, load_directory, load_path_at_revision
from schemas.diagnostics import Severity

EXIT_INVALID = 1
EXIT_USAGE = 2


def load_path(path: Path, revision: str | None) -> LoadResult:
    """Load the directory `path`, or with `revision`, the tree of that revision of the Git
    repository containing `path` (PATH is then the sub-path inside it)."""
    try:
        if revision is None:
            return load_directory(path)
        return load_path_at_revision(path, revision)
    except SourceError as err:
        raise fail(str(err), EXIT_USAGE) from err


def display_prefix(path: Path) -> str:
    """What to put before repository-relative file names so that they open from the cwd."""
    text = path.as_posix().rstrip("/")
    return "" if text in ("", ".") else text + "/"


def echo_errors(path: Path, result: LoadResult) -> None:
    """Print the load's errors to stderr, each file name opening from the cwd."""
    prefix = display_prefix(path)
    for diagnostic in result.diagnostics:
        if diagnostic.severity is Severity.ERROR:
            typer.echo(f"{prefix}{diagnostic}", err=True)
