"""Rendering of what a reconcile would change: a unified YAML diff per object (coloured by
`rich` on a terminal), or one JSON document with RFC 6902 patches. Secret data and
credential-looking values are redacted. Multi-line strings (YAML embedded in ConfigMap values)
are shown as YAML block scalars, so they diff line by line; gpuctl's own bookkeeping
annotations are left out. Pools whose nodes would be rolled out get their GPU change in words
(`reconciler.rollout.gpu_diff`)."""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml

from reconciler.apply.patches import REDACTED, redact
from reconciler.pipeline import ReconcileResult
from reconciler.planning.compare import DIGEST_ANNOTATION
from reconciler.rollout.commands import PAUSED
from reconciler.rollout.gpu_diff import PoolGpuChange
from reconciler.rollout.node_state import APPLIED_TAINTS
from reconciler.rollout.progress import ALL_KEYS
from schemas.results import Action

NO_CHANGES = "No changes."
# gpuctl's own records on the objects it manages: never a change a person asked for.
BOOKKEEPING = frozenset({*ALL_KEYS, APPLIED_TAINTS, PAUSED, DIGEST_ANNOTATION})


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as `|` block scalars (YAML embedded in a ConfigMap diffs by line)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def _without_bookkeeping(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    notes = meta.get("annotations")
    if not isinstance(notes, dict) or not BOOKKEEPING & set(notes):
        return obj
    kept = {k: v for k, v in notes.items() if k not in BOOKKEEPING}
    trimmed = {k: v for k, v in meta.items() if k != "annotations"}
    return {**obj, "metadata": {**trimmed, "annotations": kept} if kept else trimmed}


def _yaml(obj: dict[str, Any] | None) -> list[str]:
    if not obj:
        return []
    shown = _without_bookkeeping(redact(obj))
    text = yaml.dump(shown, Dumper=_BlockDumper, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return text.splitlines(keepends=True)


def _is_bookkeeping(op: dict[str, Any]) -> bool:
    path = str(op.get("path", ""))
    prefix = "/metadata/annotations/"
    return path.startswith(prefix) and path[len(prefix):].replace("~1", "/").replace("~0", "~") in BOOKKEEPING


def unified(result: ReconcileResult, gpu: list[PoolGpuChange] | None = None) -> str:
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
    described = {change.pool for change in gpu or []}
    for change in gpu or []:
        chunks.append("".join(f"# {line}\n" for line in change.lines()))
    for pool, nodes in sorted(result.pending_rollouts.items()):
        if pool not in described:
            chunks.append(f"# GPUNodePool/{pool}: rollout of {len(nodes)} nodes: {', '.join(nodes)}\n")
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)


def as_json(result: ReconcileResult, gpu: list[PoolGpuChange] | None = None) -> str:
    changes = [
        {
            "ref": str(e.ref),
            "action": e.action.value,
            "patch": [op for op in e.patch if not _is_bookkeeping(op)],
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
        "gpu": [change.as_dict() for change in gpu or []],
    }
    return json.dumps(document, indent=2, sort_keys=True)


def print_unified(text: str, *, colour: bool) -> None:
    """Print a unified diff, coloured with rich's diff highlighting when `colour`."""
    if not text:
        print(NO_CHANGES)
        return
    if not colour:
        print(text, end="")
        return
    from rich.console import Console
    from rich.syntax import Syntax

    Console().print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
