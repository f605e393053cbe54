"""The report `gpuctl apply` prints: one line per change (Flux's `Kind/ns/name action`), then
the rollouts per pool and a summary; or the same as JSON."""

from __future__ import annotations

import json

from reconciler.pipeline import ReconcileResult
from schemas.results import Action


def render(result: ReconcileResult, output: str, *, dry_run: bool = False) -> str:
    if output == "json":
        return json.dumps(
            {
                "revision": result.revision.sha,
                "dryRun": dry_run,
                "outcome": result.outcome.value,
                "error": result.error,
                "changes": [
                    {"ref": str(e.ref), "action": e.action.value, "message": e.message, "error": e.error}
                    for e in result.changes.changed()
                ],
                "rollouts": [
                    {"pool": r.pool, "rolled": r.rolled, "failed": r.failed, "halted": r.halted,
                     "paused": r.paused}
                    for r in result.rollouts
                ],
                "pendingRollouts": result.pending_rollouts,
            },
            indent=2,
        )
    lines = []
    for entry in result.changes.changed():
        detail = f" ({entry.error})" if entry.error else f" ({entry.message})" if entry.message else ""
        lines.append(f"{entry.ref} {entry.action.value}{detail}")
    for rollout in result.rollouts:
        state = "halted" if rollout.halted else "blocked" if rollout.failed and rollout.queue else "done"
        state = "paused" if rollout.paused else state
        lines.append(
            f"GPUNodePool/{rollout.pool}: rollout {state}: {len(rollout.rolled)} nodes reconfigured, "
            f"{len(rollout.failed)} failed, {len(rollout.queue)} not started"
        )
    for pool, nodes in sorted(result.pending_rollouts.items()):
        lines.append(f"GPUNodePool/{pool}: would roll out {len(nodes)} nodes")
    if result.health is not None:
        overall = result.health.overall
        waited = " (timed out)" if result.health.timed_out else ""
        lines.append(f"health: {overall.code.name.lower()}{waited} {overall.message}".rstrip())
    unchanged = sum(1 for e in result.changes.entries if e.action is Action.UNCHANGED)
    changed = len(result.changes.changed())
    if dry_run:
        lines.append(f"dry run: {changed} would change, {unchanged} unchanged; nothing was written")
    else:
        lines.append(f"{result.outcome.value}: {changed} changed, {unchanged} unchanged")
    return "\n".join(lines)
