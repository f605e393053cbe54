"""`-o/--output text|json|yaml`, the one output option of every command that prints a report,
and the hidden aliases of the names it replaces (`--format`, `-f`, `--json`), accepted for one
release (CHANGELOG.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer


class Output(StrEnum):
    TEXT = "text"
    JSON = "json"
    YAML = "yaml"


OutputOption = Annotated[
    Output, typer.Option("-o", "--output", help="text for people, json or yaml for programs.")
]
# Old spellings, hidden from help: `--format json` (apply, diff, audit log, simulate), `-f`
# (validate, simulate).
LegacyFormatOption = Annotated[Output | None, typer.Option("--format", "-f", hidden=True)]
LegacyJsonOption = Annotated[bool, typer.Option("--json", hidden=True)]


def chosen(output: Output, legacy: Output | None = None, *, as_json: bool = False) -> Output:
    """The format asked for: `-o`, else an old alias when one was given."""
    if as_json:
        return Output.JSON
    return legacy if legacy is not None and output is Output.TEXT else output


def dump(payload: Any, output: Output) -> str:
    """`payload` as indented JSON, or as YAML (block style, keys in their order)."""
    if output is Output.YAML:
        import yaml

        text: str = yaml.safe_dump(payload, sort_keys=False, default_flow_style=False, allow_unicode=True)
        return text.rstrip("\n")
    return json.dumps(payload, indent=2, ensure_ascii=False)


def reformat(json_text: str, output: Output) -> str:
    """A JSON document rendered elsewhere, in `output` (json or yaml)."""
    return json_text if output is Output.JSON else dump(json.loads(json_text), output)
