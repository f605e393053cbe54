"""Runs a `gpuctl` sub-command in this process, as a user would type it, and returns its
exit code; the demo uses it to show the real `simulate` and `audit` output.

The demo does not import the command line (which imports the demo): `gpuctl demo` hands it
a runner built from its own root command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import typer


class CommandRunner(Protocol):
    """Runs `gpuctl ARGS` and returns the exit code."""

    def __call__(self, args: list[str]) -> int: ...


class RootCommand(Protocol):
    """The part of a (typer's) click command the runner calls."""

    def main(
        self, *, args: Sequence[str] | None = None, prog_name: str | None = None, standalone_mode: bool = True
    ) -> Any: ...


def click_runner(command: RootCommand) -> CommandRunner:
    """A runner calling `command` (the `gpuctl` root command) in this process."""

    def run(args: list[str]) -> int:
        try:
            result = command.main(args=args, prog_name="gpuctl", standalone_mode=False)
        except typer.Exit as exc:
            return exc.exit_code
        except typer.TyperException as exc:  # click's ClickException family, vendored by typer
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            else:
                typer.echo(exc.format_message(), err=True)
            return exc.exit_code
        return result if isinstance(result, int) else 0

    return run
