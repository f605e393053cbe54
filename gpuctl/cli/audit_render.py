"""Human-readable rendering of audit entries and reconcile summaries (plain text and rich)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from gpuctl.cli.console import make_console
from reconciler.audit.query import AuditEntry, ReconcileSummary

_SHORT_SHA = 12
_SHORT_ID = 8


def intent_id_of(entry: AuditEntry) -> str | None:
    """The id of the write-ahead intent that `entry` is (None for every other entry)."""
    if '"intent_id":' not in entry.content_json:
        return None
    content = entry.content
    return str(content["intent_id"]) if content.get("type") == "intent" else None


def entry_line(entry: AuditEntry, intents: dict[str, int] | None = None) -> str:
    """One line per entry: position, time, what happened, to which reconcile. A write's intent
    and outcome make one line (the outcome's, naming the intent's position in `intents`)."""
    content = entry.content
    kind = content.get("type")
    reconcile = str(content.get("reconcile_id", ""))[:_SHORT_ID]
    head = f"#{entry.seq:<6} {_second(content.get('at', ''))}  r={reconcile}"
    if kind == "reconcile-started":
        return (
            f"{head}  started    {_revision(content.get('revision') or {})} trigger={content.get('trigger')}"
        )
    if kind == "reconcile-finished":
        error = f"  error: {content['error']}" if content.get("error") else ""
        return (
            f"{head}  finished   {content.get('outcome')}  {content.get('changes', 0)} change(s), "
            f"{content.get('failed_changes', 0)} failed{error}"
        )
    announced = (intents or {}).get(str(content.get("intent_id")))
    intent = f"(intent #{announced})" if announced is not None else ""
    if kind == "intent-void":
        return "  ".join(p for p in (f"{head}  {'not done':<10} {content.get('object') or '?'}",
                                     intent, str(content.get("message") or "")) if p)
    patch: list[Any] = content.get("patch") or []
    action = content.get("action", "?")
    if kind == "intent":
        action, intent = "intends", f"to {content.get('action', '?')}, no outcome recorded yet"
    parts = [f"{head}  {action:<10} {content.get('object', '?')}"]
    if intent:
        parts.append(intent)
    if content.get("recovered"):
        parts.append("recovered")
    if patch:
        parts.append(f"({len(patch)} patch op{'s' if len(patch) != 1 else ''})")
    if content.get("message"):
        parts.append(str(content["message"]))
    if content.get("error"):
        parts.append(f"error: {content['error']}")
    return "  ".join(parts)


def print_status(path: Path, last_applied: ReconcileSummary | None, recent: list[ReconcileSummary]) -> None:
    """The `gpuctl status` view: last reconcile, last applied revision, last reconciles table."""
    console = make_console()
    if not recent:
        console.print(f"No reconciles recorded yet in {path}.")
        return
    last = recent[0]
    console.print(
        f"Last reconcile:        {_revision(last.revision)} → {last.outcome or 'unfinished'}"
        + (f" ({last.error})" if last.error else "")
    )
    if last_applied is None:
        console.print("Last applied revision: none succeeded yet")
    else:
        console.print(
            f"Last applied revision: {_revision(last_applied.revision)} → {last_applied.outcome} "
            f"at {_second(last_applied.finished_at or '')}",
            soft_wrap=True,
        )
    table = Table(title=f"Last {len(recent)} reconciles")
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("revision", no_wrap=True)
    table.add_column("author", overflow="fold")
    for column in ("trigger", "changes", "outcome"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    for summary in recent:
        table.add_row(
            _second(summary.started_at),
            summary.revision.get("sha", "")[:_SHORT_SHA],
            summary.revision.get("author", ""),
            summary.trigger,
            str(summary.changes),
            summary.outcome or "unfinished",
            summary.error or "",
        )
    console.print(table)


def _revision(revision: dict[str, str]) -> str:
    sha = revision.get("sha", "")[:_SHORT_SHA] or "?"
    author = f" by {revision['author']}" if revision.get("author") else ""
    who = [f"kube user {revision['kube_user']}" if revision.get("kube_user") else "",
           f"OS user {revision['os_user']}" if revision.get("os_user") else ""]  # fmt: skip
    if any(who):
        author += f" ({', '.join(w for w in who if w)})"
    subject = revision.get("message", "").splitlines()[0] if revision.get("message") else ""
    return f"rev {sha}{author}" + (f' "{subject}"' if subject else "")


def _second(timestamp: str) -> str:
    """`2026-11-28T23:58:34.261810Z` → `2026-11-28T23:58:34Z`."""
    return timestamp.split(".", 1)[0] + "Z" if "." in timestamp else timestamp
