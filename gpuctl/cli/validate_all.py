"""`gpuctl validate --all PATH`: every kustomization root under PATH (each cluster's overlay of
a `base/` + `clusters/*` repository), validated one by one. A base is validated through each
overlay that uses it, so a mistake in it is reported once per cluster it reaches.

Exit codes as `gpuctl validate`: 0 every root valid, 1 one is invalid, 2 usage or I/O error
(also when PATH holds no kustomization).
"""

from __future__ import annotations

from pathlib import Path

import typer

from gpuctl.cli.errors import fail
from gpuctl.cli.loading import EXIT_INVALID, EXIT_USAGE, display_prefix, load_path
from gpuctl.cli.output import Output, dump
from reconciler.source import LoadResult, SourceError
from reconciler.source.files import containing_repository
from reconciler.source.kustomize_roots import kustomization_roots
from reconciler.source.kustomize_tree import DiskTree, GitTree
from schemas.diagnostics import Severity


def find_roots(path: Path, revision: str | None) -> list[Path]:
    """The kustomization roots under `path` (in the tree of `revision` when given)."""
    try:
        if revision is None:
            if not path.is_dir():
                raise SourceError(f"{path}: not a directory")
            return [path / root if root else path for root in kustomization_roots(DiskTree(path))]
        top, subpath = containing_repository(path)
        roots = kustomization_roots(GitTree.at(top, revision), subpath)
    except SourceError as err:
        raise fail(str(err), EXIT_USAGE) from err
    return [top / root if root else top for root in roots]


def validate_all(path: Path, revision: str | None, output: Output) -> None:
    """Validate each root; print findings prefixed by the root's directory."""
    as_json = output is not Output.TEXT
    roots = find_roots(path, revision)
    if not roots:
        raise fail(f"{path}: no kustomization.yaml under this directory", EXIT_USAGE)
    results: list[tuple[Path, LoadResult]] = [(root, load_path(root, revision)) for root in roots]
    report = []
    for root, result in results:
        shown = _shown(root, path)
        prefix = display_prefix(shown)
        errors = sum(1 for d in result.diagnostics if d.severity is Severity.ERROR)
        warnings = len(result.diagnostics) - errors
        built = result.state.built_with if result.state else None
        if as_json:
            findings = [{**d.to_dict(), "file": prefix + d.location.file} for d in result.diagnostics]
            report.append({"root": shown.as_posix(), "valid": result.ok, "errors": errors,
                           "warnings": warnings, "builtWith": built, "diagnostics": findings})  # fmt: skip
        else:
            for diagnostic in result.diagnostics:
                typer.echo(f"{prefix}{diagnostic}")
        verdict = "valid" if result.ok else "invalid"
        tool = f"; built with {built}" if built else ""
        typer.echo(f"{shown}: {verdict} ({errors} errors, {warnings} warnings{tool})", err=True)
    if as_json:
        typer.echo(dump({"valid": all(r.ok for _, r in results), "roots": report}, output))
    if not all(result.ok for _, result in results):
        raise typer.Exit(EXIT_INVALID)


def _shown(root: Path, path: Path) -> Path:
    """`root` as the user would type it: under PATH as given."""
    try:
        return path / root.resolve().relative_to(path.resolve())
    except ValueError:
        return root
