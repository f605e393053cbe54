"""The root `gpuctl` command: `--version`, shell completion, library logging kept quiet, and
usage errors printed with the same `gpuctl: error:` prefix as every other error."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer
from typer._click.formatting import HelpFormatter  # typer vendors click; no public name for it
from typer.core import TyperGroup

from gpuctl.cli.errors import EXIT_ERROR, PREFIX
from reconciler.daemon.logs import LIBRARY_LOGGERS
from reconciler.errors import ReconcileError

EXIT_ABORTED = 1


_BRACED = re.compile(r"\{([^{}]+)\}")


class PathStyleFormatter(HelpFormatter):
    """Usage lines as `gpuctl apply [OPTIONS] PATH` (typer writes a required argument `{PATH}`)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, _BRACED.sub(r"\1", args), prefix)


class PathStyleContext(typer.Context):
    formatter_class = PathStyleFormatter


def _path_style(command: Any) -> None:
    """Give `command` and every sub-command the PATH-style usage line."""
    command.context_class = PathStyleContext
    for sub in getattr(command, "commands", {}).values():
        _path_style(sub)


class GpuctlGroup(TyperGroup):
    """The root group: parses and runs as typer does, then reports a usage error (missing
    argument, unknown option, bad choice) as `gpuctl: error: <what>` under the usage line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _path_style(self)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(EXIT_ABORTED)
        except typer.TyperException as exc:  # click's ClickException family, vendored by typer
            _show(exc)
        except ReconcileError as exc:  # a cluster error no command caught: one line, exit 2
            typer.echo(f"{PREFIX}{exc}", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(result if isinstance(result, int) else 0)


def _show(exc: typer.TyperException) -> NoReturn:
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        typer.echo(ctx.get_usage(), err=True)
        typer.echo(f"Try '{ctx.command_path} --help' for help.", err=True)
    # typer checks choices with pydantic: keep its wording out of the message.
    typer.echo(f"{PREFIX}{exc.format_message().replace('Value error, ', '')}", err=True)
    sys.exit(exc.exit_code)


def quiet_library_logs() -> None:
    """Keep urllib3's and the kubernetes client's log records off the terminal."""
    # Plain `WARNING:urllib3…` lines: the CLI reports these failures itself, one line each;
    # `gpuctl run` routes them through structlog instead (reconciler.daemon.logs).
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def package_version() -> str:
    """The installed distribution's version (package metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gpuctl")
    except PackageNotFoundError:  # run from a source tree: the version its pyproject.toml declares
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gpuctl {package_version()}")
        raise typer.Exit(0)


def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print gpuctl's version and exit."
        ),
    ] = False,
) -> None:
    """GitOps for GPU clusters: validate, diff and apply desired GPU state, simulate capacity
    before a merge, and audit every change.

    Example: gpuctl validate desired_state && gpuctl diff desired_state --kubeconfig ~/.kube/config
    """
    del version
    quiet_library_logs()
