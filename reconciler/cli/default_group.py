"""`DefaultCommandGroup`: a click group whose arguments go to a hidden default command unless
the first one names a sub-command. `gpuctl simulate PATH ...` keeps working while
`gpuctl simulate calibrate ...` is a sub-command of its own."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

DEFAULT_COMMAND = "predict"


class DefaultCommandGroup(TyperGroup):
    """Routes `group ARGS` to `group predict ARGS` when ARGS[0] is no sub-command's name."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)
