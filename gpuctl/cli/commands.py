"""Registration of every `gpuctl` sub-command: one `register(app)` call per command module."""

from __future__ import annotations

import typer

from gpuctl.cli import (
    apply_cmd,
    audit_cmd,
    demo_cmd,
    diff_cmd,
    get_cmd,
    render,
    rollout_cmd,
    run_cmd,
    sandbox_cmd,
    schema,
    simulate_group,
    trace_cmd,
    validate,
)


def _version() -> None:
    """Print the gpuctl version (as `gpuctl --version`).

    Example: gpuctl version
    """
    from gpuctl.cli.root import package_version

    typer.echo(package_version())


def register(app: typer.Typer) -> None:
    """Attach all commands to `app`. Keep one line per command module, sorted."""
    apply_cmd.register(app)
    audit_cmd.register(app)
    demo_cmd.register(app)
    diff_cmd.register(app)
    get_cmd.register(app)
    render.register(app)
    rollout_cmd.register(app)
    run_cmd.register(app)
    sandbox_cmd.register(app)
    schema.register(app)
    simulate_group.register(app)
    trace_cmd.register(app)
    validate.register(app)
    app.command("version")(_version)
