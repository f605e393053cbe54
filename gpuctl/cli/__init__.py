"""The `gpuctl` command line: wiring only. Each command lives in its own module and is
registered here; heavy imports (kubernetes, simpy, matplotlib) happen inside commands so
that start-up stays fast."""

from __future__ import annotations

import typer

from gpuctl.cli import commands

app = typer.Typer(
    name="gpuctl",
    help="GitOps for GPU clusters: validate, diff and apply desired GPU state, "
    "simulate capacity before a merge, and audit every change.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain text: "[default: .]" or "gpuctl[ray]" must print as written, not
    # be eaten as rich markup.
    rich_markup_mode=None,
)
commands.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
