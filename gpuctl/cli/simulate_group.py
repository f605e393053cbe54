"""`gpuctl simulate`: one command name, three forms, told apart by their arguments.

- `gpuctl simulate [PATH] …`: one desired state (`simulate_cmd`, the capacity simulator's own
  command);
- `gpuctl simulate --repo PATH --base REV --head REV …` or `--base DIR --head DIR`: the
  base-vs-head comparison (`simulate_compare`);
- `gpuctl simulate sweep …`: sweeps (`simulate_sweep`);
- `gpuctl simulate calibrate PATH …`: the captured workload replayed against PATH, compared with
  what was observed (`calibrate_cmd`).

The group routes by the first argument (a sub-command name) or by the presence of
`--repo/--base/--head`, so the plain form keeps its exact options and behaviour.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from gpuctl.cli.calibrate_cmd import calibrate_command
from gpuctl.cli.simulate_cmd import simulate_command
from gpuctl.cli.simulate_compare import compare_command
from gpuctl.cli.simulate_sweep import sweep_command

_COMPARE_OPTIONS = ("--repo", "--base", "--head")


class SimulateGroup(TyperGroup):
    """Adds the implicit sub-command (`run` or `compare`) when none is named."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's vendored click Context
        if args and (args[0] in self.commands or args[0] in ("--help", "-h")):
            return super().parse_args(ctx, args)
        implicit = "compare" if any(a.split("=", 1)[0] in _COMPARE_OPTIONS for a in args) else "run"
        return super().parse_args(ctx, [implicit, *args])


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        cls=SimulateGroup,
        help="Predict GPU allocation, queueing and fragmentation before a merge: one desired state "
        "(simulate [PATH]), base against head (simulate --repo R --base A --head B), or a sweep.\n\n"
        "Example: gpuctl simulate --repo . --base main --head HEAD --path desired_state --seeds 10",
        no_args_is_help=False,
        add_completion=False,
    )
    group.command(
        "run",
        help="One desired state or trace (the default form: gpuctl simulate PATH).\n\n"
        "Example: gpuctl simulate desired_state --seeds 3 -o json",
    )(simulate_command)
    group.command(
        "compare",
        help="Base against head (the form with --repo/--base/--head).\n\n"
        "Example: gpuctl simulate --repo . --base main --head HEAD --path desired_state --fail-if "
        "'queue_wait_p95 > +20%'",
    )(compare_command)
    group.command("sweep")(sweep_command)
    group.command("calibrate")(calibrate_command)
    app.add_typer(group, name="simulate")
