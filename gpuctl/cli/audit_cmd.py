"""`gpuctl audit log|verify|export` and `gpuctl status`: the command line over the audit log.

Wiring and argument parsing only; reading is `reconciler.audit.query`, checking is
`reconciler.audit.verification`, text rendering is `gpuctl.cli.audit_render`.
Exit codes: 0 success; 1 `verify` found a bad entry; 2 usage or I/O error (missing file…).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from gpuctl.cli import audit_render, get_cmd
from gpuctl.cli.cluster_options import ContextOption, KubeconfigOption, SandboxOption
from gpuctl.cli.errors import fail
from gpuctl.cli.get_cmd import NamespaceOption
from gpuctl.cli.output import LegacyFormatOption, Output, OutputOption, chosen, dump
from reconciler.audit.archive import JsonlExport
from reconciler.audit.errors import AuditError
from reconciler.audit.query import AuditReader, EntryFilter
from reconciler.audit.verification import verify_chain
from schemas.durations import parse_duration

DB_ENV_VAR = "GPUCTL_AUDIT_DB"
DEFAULT_DB_NAME = "gpuctl-audit.db"
EXIT_BAD_ENTRY = 1
EXIT_USAGE_OR_IO = 2

audit_app = typer.Typer(
    help="Read, verify and export the append-only, hash-chained audit log.\n\n"
    "Example: gpuctl audit log --since 7d",
    no_args_is_help=True,
)


class ExportFormat(StrEnum):
    JSONL = "jsonl"

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--audit-db",
        "--db",
        help=f"Audit database file (default: ${DB_ENV_VAR}, else the current kubeconfig context's "
        f"cluster's $XDG_STATE_HOME/gpuctl/<cluster-id>/audit.db, else ./{DEFAULT_DB_NAME})",
    ),
]


def register(app: typer.Typer) -> None:
    """Attach `gpuctl audit …` and `gpuctl status` to the main app."""
    app.add_typer(audit_app, name="audit")
    app.command("status")(status)


def resolve_db_path(db: Path | None) -> Path:
    """`--db`, else `$GPUCTL_AUDIT_DB`, else the audit database `gpuctl apply` keeps for the
    cluster of the default kubeconfig's current context (`gpuctl.cli.state_dir`), else
    `./gpuctl-audit.db`."""
    if db is not None:
        return db
    if os.environ.get(DB_ENV_VAR):
        return Path(os.environ[DB_ENV_VAR])
    from gpuctl.cli.state_dir import default_audit_db
    from reconciler.cluster import ConnectionSpec
    from reconciler.cluster.connection import api_client_for
    from reconciler.errors import ReconcileError

    try:
        api: Any = api_client_for(ConnectionSpec())
    except ReconcileError:
        return Path(DEFAULT_DB_NAME)
    try:
        return default_audit_db(str(api.configuration.host))
    finally:
        api.close()


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`24h`/`7d` (that long ago) or an ISO 8601 timestamp (UTC when no offset is given)."""
    try:
        return (now or datetime.now(UTC)) - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a duration ago (like 24h, 7d, 90m) nor an ISO 8601 timestamp "
            "(like 2026-11-28T12:00:00Z)",
            param_hint="'--since'",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_object_ref(text: str) -> str:
    """Check REF is `Kind/namespace/name` or `Kind/name` and return its canonical spelling."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise typer.BadParameter(
            f"{text!r} is not an object reference; write Kind/namespace/name "
            "(e.g. ConfigMap/gpu-operator/default-mig-parted-config) or Kind/name for cluster-scoped "
            "objects (e.g. Node/gpu-node-1)",
            param_hint="'--object'",
        )
    return text


def _fail(message: str) -> typer.Exit:
    return fail(message, EXIT_USAGE_OR_IO)


@audit_app.command("log")
def audit_log(  # noqa: PLR0917 - typer maps each option to a parameter
    db: DbOption = None,
    since: Annotated[str | None, typer.Option(help="Only entries since T: 24h, 7d, or an ISO time")] = None,
    object_ref: Annotated[
        str | None, typer.Option("--object", help="Only changes of Kind/namespace/name or Kind/name")
    ] = None,
    revision: Annotated[
        str | None, typer.Option(help="Only reconciles of this revision (sha prefix)")
    ] = None,
    output: OutputOption = Output.TEXT,
    legacy_format: LegacyFormatOption = None,
) -> None:
    """Show audit entries, oldest first, filtered by time, object and revision.

    Example: gpuctl audit log --since 24h --object Node/gpu-node-1
    """
    output = chosen(output, legacy_format)
    where = EntryFilter(
        since=parse_since(since) if since else None,
        object_ref=parse_object_ref(object_ref) if object_ref else None,
        revision=revision or None,
    )
    path = resolve_db_path(db)
    try:
        with AuditReader(path) as reader, reader.snapshot():
            if output is Output.JSON:
                _print_json_array(e.to_record() for e in reader.entries(where))
                return
            if output is Output.YAML:
                typer.echo(dump([e.to_record() for e in reader.entries(where)], output))
                return
            shown = 0
            positions, settled = reader.intent_index()
            for entry in reader.entries(where):
                if audit_render.intent_id_of(entry) in settled:
                    continue  # its outcome's line shows it
                typer.echo(audit_render.entry_line(entry, positions))
                shown += 1
    except AuditError as exc:
        raise fail(str(exc)) from exc
    if not shown:
        typer.echo("no audit entries match", err=True)


def _print_json_array(records: Iterator[dict[str, Any]]) -> None:
    """Print a JSON array one record at a time, so a long log never sits in memory whole."""
    separator = "[\n"
    for record in records:
        typer.echo(separator + json.dumps(record, ensure_ascii=False), nl=False)
        separator = ",\n"
    typer.echo("[]" if separator == "[\n" else "\n]")


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    jsonl: Annotated[
        Path | None,
        typer.Option("--jsonl", help="Verify this `audit export` file (JSON Lines) instead of the db"),
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(help="A head hash printed by an earlier verify; fail if no entry carries it any more"),
    ] = None,
) -> None:
    """Check the hash chain; exit 1 naming the first changed, removed or reordered entry.

    Example: gpuctl audit verify --audit-db gpuctl-audit.db
    """
    path = jsonl if jsonl is not None else resolve_db_path(db)
    try:
        if jsonl is not None:
            result = verify_chain(JsonlExport(jsonl), anchor=anchor)
        else:
            with AuditReader(path) as reader:
                result = verify_chain(reader, anchor=anchor)
    except AuditError as exc:
        raise fail(str(exc)) from exc
    if result.problem is not None:
        typer.echo(
            f"audit log {path} FAILED verification after {result.count} good entries: "
            f"{result.problem.message}",
            err=True,
        )
        raise typer.Exit(EXIT_BAD_ENTRY)
    still_open = (
        f"; {result.open_intents} write(s) announced, not yet recorded (gpuctl may be writing them now)"
        if result.open_intents
        else ""
    )
    typer.echo(f"audit log {path} OK: {result.count} entries verified, head {result.head_hash}{still_open}")


@audit_app.command("export")
def audit_export(
    db: DbOption = None,
    output: Annotated[
        ExportFormat, typer.Option("-o", "--output", help="JSON Lines, one entry per line (the only format)")
    ] = ExportFormat.JSONL,
    jsonl: Annotated[bool, typer.Option("--jsonl", hidden=True)] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout")] = None,
) -> None:
    """Export every entry with its chain hashes, one JSON object per line.

    Example: gpuctl audit export --out audit.jsonl
    """
    del output, jsonl  # JSON Lines is the one export format; `--jsonl` is its old spelling
    path = resolve_db_path(db)
    try:
        with AuditReader(path) as reader, reader.snapshot():
            count = _write_jsonl((e.to_record() for e in reader.entries()), out)
    except AuditError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(f"{out}: cannot write the export: {exc.strerror or exc}") from exc
    if out is not None:
        typer.echo(f"exported {count} entries to {out}", err=True)


def _write_jsonl(records: Iterator[dict[str, Any]], out: Path | None) -> int:
    count = 0
    stream = out.open("w", encoding="utf-8") if out is not None else sys.stdout
    try:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    finally:
        if out is not None:
            stream.close()
    return count


def status(
    db: DbOption = None,
    *,
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    sandbox: SandboxOption = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """The last reconcile: with an audit database (--db or $GPUCTL_AUDIT_DB), the last applied
    revision and the last 10 reconciles in it; without one, the record gpuctl keeps in the
    cluster (revision, when, result, counts, by whom), readable from any machine.

    Example: gpuctl status --kubeconfig ~/.kube/config -o json
    """
    if db is None and not os.environ.get(DB_ENV_VAR):
        get_cmd.cluster_status(namespace, kubeconfig, context, sandbox, output)
        return
    path = resolve_db_path(db)
    try:
        with AuditReader(path) as reader, reader.snapshot():
            last_applied = reader.last_applied()
            recent = reader.reconciles(limit=10)
    except AuditError as exc:
        raise fail(str(exc)) from exc
    if output != "text":
        applied = dataclasses.asdict(last_applied) if last_applied else None
        recent_records = [dataclasses.asdict(r) for r in recent]
        document = {"auditDb": str(path), "lastApplied": applied, "recent": recent_records}
        typer.echo(dump(document, output))
        return
    audit_render.print_status(path, last_applied, recent)
