"""Rendering of what a reconcile would change: a unified YAML diff per object (coloured by
`rich` on a terminal), or one JSON document with RFC 6902 patches. Secret data and
credential-looking values are redacted."""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml

from reconciler.apply.patches import REDACTED, redact
from reconciler.pipeline import ReconcileResult
from schemas.results import Action


def _yaml(obj: dict[str, Any] | None) -> list[str]:
    if not obj:
        return []
    text = yaml.safe_dump(redact(obj), sort_keys=True, default_flow_style=False)
    return text.splitlines(keepends=True)


def unified(result: ReconcileResult) -> str:
    """All changes as unified diffs (`live` → `desired`), then deletions and pending rollouts."""
    chunks: list[str] = []
    for outcome in result.outcomes:
        entry = outcome.entry
        if entry.action in (Action.CREATED, Action.CONFIGURED):
            label = str(entry.ref)
            lines = "".join(
                difflib.unified_diff(
                    _yaml(outcome.before), _yaml(outcome.after), f"live/{label}", f"desired/{label}"
                )
            )
            if REDACTED in str(entry.patch):
                # Redacted values look alike on both sides: say that they changed.
                lines = (lines or f"--- live/{label}\n+++ desired/{label}\n") + "# redacted values changed\n"
            chunks.append(lines or f"# {label}: {entry.message or 'changes'}\n")
        elif entry.action is Action.FAILED:
            chunks.append(f"! {entry.ref}: {entry.error}\n")
    for entry in result.changes.entries:
        if entry.action is Action.DELETED:
            chunks.append(f"--- live/{entry.ref}\n+++ (pruned)\n")
        elif entry.action is Action.SKIPPED and entry.message and "prune" in entry.message.lower():
            chunks.append(f"# {entry.ref}: kept ({entry.message})\n")
    for pool, nodes in sorted(result.pending_rollouts.items()):
        chunks.append(f"# GPUNodePool/{pool}: rollout of {len(nodes)} nodes: {', '.join(nodes)}\n")
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)


def as_json(result: ReconcileResult) -> str:
    changes = [
        {
            "ref": str(e.ref),
            "action": e.action.value,
            "patch": e.patch,
            **({"message": e.message} if e.message else {}),
            **({"error": e.error} if e.error else {}),
        }
        for e in result.changes.entries
        if e.action not in (Action.UNCHANGED,)
    ]
    document = {
        "revision": result.revision.sha,
        "changed": result.changed,
        "changes": changes,
        "rollouts": result.pending_rollouts,
    }
    return json.dumps(document, indent=2, sort_keys=True)


def print_unified(text: str, *, colour: bool) -> None:
    """Print a unified diff, coloured with rich's diff highlighting when `colour`."""
    if not colour:
        print(text, end="")
        return
    from rich.console import Console
    from rich.syntax import Syntax

    Console().print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
