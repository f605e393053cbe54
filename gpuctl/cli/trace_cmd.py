"""`gpuctl trace export [--since 7d] [--out FILE]`: the jobs the daemon captured, as a gpuctl CSV
trace (columns in docs/workload-capture.md). Exit codes: 0 written; 2 bad option or no store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gpuctl.cli.captured import CaptureInputError, capture_db, export_jobs, window_seconds
from gpuctl.cli.errors import fail

EXIT_USAGE = 2

trace_app = typer.Typer(
    help="Workload traces captured on the cluster.\n\nExample: gpuctl trace export --since 7d --out jobs.csv",
    no_args_is_help=True,
)


@trace_app.command("export")
def export(
    since: Annotated[
        str, typer.Option("--since", help="Jobs submitted in this window, e.g. 7d, 36h.")
    ] = "7d",
    out: Annotated[Path | None, typer.Option("--out", help="CSV file to write [default: stdout].")] = None,
    db: Annotated[
        Path | None,
        typer.Option("--capture-db", help="Capture store [default: $GPUCTL_CAPTURE_DB, gpuctl-capture.db]."),
    ] = None,
) -> None:
    """Write the captured jobs (those that ran) as a gpuctl CSV trace for `gpuctl simulate`.

    Example: gpuctl trace export --since 36h --out jobs.csv
    """
    try:
        window = window_seconds(since)
        store = capture_db(db)
        if out is None:
            summary = export_jobs(store, window, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as fh:
                summary = export_jobs(store, window, fh)
    except CaptureInputError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except OSError as exc:
        raise fail(f"{out}: {exc.strerror}", EXIT_USAGE) from exc
    typer.echo(f"{summary.exported} job(s) exported; {summary.unfinished} still pending or running left out",
               err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(trace_app, name="trace")
