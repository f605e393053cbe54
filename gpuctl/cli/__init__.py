"""The `gpuctl` command line: wiring only. Each command lives in its own module and is
registered here; heavy imports (kubernetes, simpy, matplotlib) happen inside commands so
that start-up stays fast."""

from __future__ import annotations

import typer

from gpuctl.cli import commands
from gpuctl.cli.root import GpuctlGroup, root

app = typer.Typer(
    name="gpuctl",
    cls=GpuctlGroup,
    no_args_is_help=True,
    # `gpuctl --install-completion` / `--show-completion [bash|zsh|fish|powershell]`.
    add_completion=True,
    pretty_exceptions_enable=False,
    # Help texts are plain text: "[default: .]" or "gpuctl[ray]" must print as written, not
    # be eaten as rich markup.
    rich_markup_mode=None,
)
app.callback()(root)
commands.register(app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="gpuctl")
