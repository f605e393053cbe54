"""A node's rollout progress, kept in its own annotations so that a restarted gpuctl resumes
where the previous one stopped (and never forgets a node it cordoned).

Phases: `draining` (cordoned, evicting GPU pods) → `configuring` (labels set, waiting for
the MIG manager) → done (annotations removed, uncordoned); or `failed` (left cordoned,
with the reason in `gpuctl.dev/rollout-failure`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PREFIX = "gpuctl.dev/"
PHASE = PREFIX + "rollout-phase"
TARGET = PREFIX + "rollout-target"
SINCE = PREFIX + "rollout-since"
FAILURE = PREFIX + "rollout-failure"
CORDONED_BY = PREFIX + "cordoned-by"
POOL = PREFIX + "rollout-pool"
ALL_KEYS = (PHASE, TARGET, SINCE, FAILURE, CORDONED_BY, POOL)


class Phase(StrEnum):
    DRAINING = "draining"
    CONFIGURING = "configuring"
    FAILED = "failed"


@dataclass(frozen=True)
class Progress:
    """What a node's annotations say about its rollout (phase None: no rollout)."""

    phase: Phase | None
    target: dict[str, str]
    since: float
    failure: str
    cordoned_by_gpuctl: bool

    @classmethod
    def of(cls, node: dict[str, Any]) -> Progress:
        notes = (node.get("metadata") or {}).get("annotations") or {}
        raw_phase = notes.get(PHASE)
        try:
            phase = Phase(raw_phase) if raw_phase else None
        except ValueError:
            phase = None
        try:
            target = {str(k): str(v) for k, v in json.loads(notes.get(TARGET) or "{}").items()}
        except (ValueError, AttributeError):
            target = {}
        try:
            since = float(notes.get(SINCE) or 0.0)
        except ValueError:
            since = 0.0
        return cls(phase, target, since, str(notes.get(FAILURE) or ""), notes.get(CORDONED_BY) == "gpuctl")


def phase_patch(
    phase: Phase, target: dict[str, str], since: float, pool: str, failure: str | None = None
) -> dict[str, Any]:
    notes: dict[str, Any] = {
        PHASE: phase.value,
        TARGET: json.dumps(target, sort_keys=True),
        SINCE: f"{since:.3f}",
        POOL: pool,
    }
    if failure is not None:
        notes[FAILURE] = failure
    return {"metadata": {"annotations": notes}}


def clear_patch() -> dict[str, Any]:
    """Remove every rollout annotation (merge patch nulls)."""
    return {"metadata": {"annotations": dict.fromkeys(ALL_KEYS)}}
