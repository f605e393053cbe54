"""`gpuctl demo`: the guided tour on the embedded sandbox (see `gpuctl.demo`).
Exit codes: 0 every step held; 1 a step failed (named on stderr); 2 a usage error;
130 interrupted (Ctrl-C or SIGTERM), after stopping everything it started."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gpuctl.cli.errors import fail

EXIT_USAGE = 2


def demo(
    ctx: typer.Context,
    *,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Keep the demo's Git repository, audit database and daemon log in "
                     "this (new or empty) directory instead of a temporary one."),
    ] = None,
    speed: Annotated[
        float,
        typer.Option("--speed", min=1.0, help="How much faster than real time the sandbox's GPU "
                     "components run (MIG reconfiguration takes 45 s of sandbox time)."),
    ] = 60.0,
    simulate: Annotated[
        bool, typer.Option("--simulate/--no-simulate", help="Show the pre-merge simulation step.")
    ] = True,
    source: Annotated[
        Path | None,
        typer.Option("--source", help="Desired-state directory to start from (default: the example "
                     "desired_state/ shipped with gpuctl); it needs the example's h100-inference pool."),
    ] = None,
) -> None:
    """Guided tour on the embedded sandbox: first apply, a MIG rollout node by node, drift
    correction, a pre-merge simulation and the verified audit log, in under two minutes.
    Exit 0 every step held, 1 a step failed, 2 usage error, 130 interrupted.

    Example: gpuctl demo --keep ./demo-run
    """
    from gpuctl.demo import DemoOptions, Narrator, run_demo
    from gpuctl.demo.clirun import click_runner

    if source is not None and not source.is_dir():
        raise fail(f"--source {source}: not a directory", EXIT_USAGE)
    if keep is not None and (keep.is_file() or (keep.is_dir() and any(keep.iterdir()))):
        raise fail(f"--keep {keep}: not a new or empty directory", EXIT_USAGE)
    options = DemoOptions(speed=speed, keep=keep, simulate=simulate, source=source,
                          gpuctl=click_runner(ctx.find_root().command))
    code = run_demo(options, Narrator())
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
