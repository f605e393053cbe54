"""Runs a `gpuctl` sub-command in this process, as a user would type it, and returns its
exit code; the demo uses it to show the real `simulate` and `audit` output."""

from __future__ import annotations

import click
import typer


def run_gpuctl(args: list[str]) -> int:
    """Exit code of `gpuctl ARGS` (0 when the command returned normally)."""
    from reconciler.cli import app

    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="gpuctl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return result if isinstance(result, int) else 0
