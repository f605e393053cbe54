"""`gpuctl validate PATH`: every finding of loading and validation, sorted, all at once.

Exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage or I/O error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gpuctl.cli.loading import EXIT_INVALID, display_prefix, load_path
from gpuctl.cli.output import LegacyFormatOption, Output, chosen, dump
from gpuctl.cli.validate_all import validate_all
from schemas.diagnostics import Severity


def validate(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="Repository directory (with --revision: a path inside a Git work tree)."
        ),
    ],
    revision: Annotated[
        str | None,
        typer.Option("--revision", "-r", help="Validate this Git revision's tree instead of the files."),
    ] = None,
    output: Annotated[
        Output, typer.Option("-o", "--output", help="text (file:line:col lines), json or yaml.")
    ] = Output.TEXT,
    legacy_format: LegacyFormatOption = None,
    all_roots: Annotated[
        bool,
        typer.Option("--all", help="Validate every kustomization root under PATH (one per cluster overlay)."),
    ] = False,
) -> None:
    """Check a desired-state repository: YAML, Kubernetes schemas, MIG layouts against the GPU,
    device-plugin configs, references and quotas. Prints `file:line:col: severity: message [rule]`.

    Example: gpuctl validate desired_state -o json
    """
    output = chosen(output, legacy_format)
    if all_roots:
        validate_all(path, revision, output)
        return
    result = load_path(path, revision)
    prefix = display_prefix(path)
    errors = sum(1 for d in result.diagnostics if d.severity is Severity.ERROR)
    warnings = len(result.diagnostics) - errors
    if output is not Output.TEXT:
        payload = {
            "valid": result.ok,
            "revision": result.state.revision if result.state else revision,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": [{**d.to_dict(), "file": prefix + d.location.file} for d in result.diagnostics],
        }
        typer.echo(dump(payload, output))
    else:
        for diagnostic in result.diagnostics:
            typer.echo(f"{prefix}{diagnostic}")
    verdict = "valid" if result.ok else "invalid"
    tool = f"; built with {result.state.built_with}" if result.state and result.state.built_with else ""
    typer.echo(f"{path}: {verdict} ({errors} errors, {warnings} warnings{tool})", err=True)
    if not result.ok:
        raise typer.Exit(EXIT_INVALID)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
