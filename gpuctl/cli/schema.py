"""`gpuctl schema --out DIR`: JSON Schemas of the gpuctl kinds, for editors.

With yaml-language-server (VS Code's YAML extension, Neovim, ...), put
`# yaml-language-server: $schema=<DIR>/gpunodepool.json` at the top of a pool file, or map
the schemas to globs in the editor settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from gpuctl.cli.errors import fail
from schemas.catalogue import catalogue
from schemas.kinds import GPUNodePool, RepoSettings, WorkloadProfile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXPORTED: dict[str, type[BaseModel]] = {
    "gpunodepool.json": GPUNodePool,
    "workloadprofile.json": WorkloadProfile,
    "settings.json": RepoSettings,
}


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema (by alias, as written in YAML) of every gpuctl kind. GPU model
    fields list the catalogue's models, so editors can complete them."""
    models = catalogue().model_names
    documents: dict[str, dict[str, Any]] = {}
    for name, model in EXPORTED.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        definitions = schema.get("$defs", {})
        if "PoolGpu" in definitions:
            definitions["PoolGpu"]["properties"]["model"]["enum"] = models
        if "JobClass" in definitions:
            definitions["JobClass"]["properties"]["gpuModels"]["items"]["enum"] = models
        documents[name] = {"$schema": SCHEMA_DIALECT, "$id": name, **schema}
    return documents


def schema(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the schema files into.")],
) -> None:
    """Write JSON Schemas of GPUNodePool, WorkloadProfile and gpuctl.yaml (Settings).

    Example: gpuctl schema --out .schemas
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, document in schema_documents().items():
            (out / name).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        raise fail(f"cannot write schemas to {out}: {err}") from err
    typer.echo(f"wrote {', '.join(EXPORTED)} to {out}")


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
