"""The one way every `gpuctl` command reports an error: a line `gpuctl: error: <what>` on
stderr (as `kubectl` prints `error: …`), then an exit code. Usage errors found by the option
parser get the same prefix (`gpuctl.cli.root`)."""

from __future__ import annotations

import typer

PREFIX = "gpuctl: error: "
EXIT_ERROR = 2


def error(message: str) -> None:
    """Print `gpuctl: error: <message>` on stderr."""
    typer.echo(f"{PREFIX}{message}", err=True)


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Print `message` as an error; the Exit to raise (exit code 2 unless told)."""
    error(message)
    return typer.Exit(code)
