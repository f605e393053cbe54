"""`gpuctl render PATH`: every object in apply order, gpuctl kinds rendered as what they
mean for the cluster (GPUNodePool → NodePoolPatch). Exit 1 if the repository is invalid."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from gpuctl.cli.errors import fail
from gpuctl.cli.loading import EXIT_INVALID, echo_errors, load_path

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class RenderFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


def render_command(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="Repository directory (with --revision: a path inside a Git work tree)."
        ),
    ],
    output: Annotated[
        RenderFormat, typer.Option("--output", "-o", help="yaml (a multi-document stream) or json.")
    ] = RenderFormat.YAML,
    revision: Annotated[
        str | None, typer.Option("--revision", "-r", help="Render this Git revision's tree.")
    ] = None,
) -> None:
    """Print every object of the repository in apply order (CRDs, Namespaces, RBAC, classes,
    GPU Operator config, config, quotas and queues, node pools, workloads).

    Example: gpuctl render desired_state -o json
    """
    from reconciler.render import render

    result = load_path(path, revision)
    if result.state is None:
        echo_errors(path, result)
        raise fail(f"{path}: invalid; nothing rendered (run gpuctl validate for details)", EXIT_INVALID)
    objects = render(result.state)
    if output is RenderFormat.JSON:
        typer.echo(json.dumps([o.to_dict() for o in objects], indent=2))
        return
    chunks = []
    for rendered in objects:
        header = f"# stage: {rendered.stage}" + (f"  source: {rendered.source}" if rendered.source else "")
        body = yaml.dump(rendered.obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
        chunks.append(f"---\n{header}\n{body}")
    typer.echo("".join(chunks), nl=False)


def register(app: typer.Typer) -> None:
    app.command("render")(render_command)
