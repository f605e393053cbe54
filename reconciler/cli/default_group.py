"""`DefaultCommandGroup`: a click group whose arguments go to a hidden default command unless
the first one names a sub-command. `gpuctl simulate PATH ...` keeps working while
`gpuctl simulate calibrate ...` is a sub-command of its own."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

DEFAULT_COMMAND = "predict"
_ROUTED = "gpuctl.default-command"


class DefaultCommandGroup(TyperGroup):
    """Routes `group ARGS` to `group predict ARGS` when ARGS[0] is no sub-command's name; the
    routed command's usage line then reads `group [OPTIONS] ...`, as before the group existed."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [DEFAULT_COMMAND, *args]
            ctx.meta[_ROUTED] = True
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[Any, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if ctx.meta.get(_ROUTED) and name == DEFAULT_COMMAND:
            return None, command, rest  # no name of its own: usage is the group's path
        return name, command, rest
