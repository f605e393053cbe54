"""Small readers of Kubernetes status conventions shared by the assessors."""

from __future__ import annotations

from typing import Any

KubeObject = dict[str, Any]


def status(obj: KubeObject) -> dict[str, Any]:
    return dict(obj.get("status") or {})


def condition(obj: KubeObject, kind: str) -> dict[str, Any] | None:
    """The status condition of type `kind`, if any."""
    for cond in status(obj).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def is_true(obj: KubeObject, kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def is_false(obj: KubeObject, kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "False"


def reason(obj: KubeObject, kind: str) -> str:
    cond = condition(obj, kind) or {}
    text = str(cond.get("message") or cond.get("reason") or "")
    return f"{kind}: {text}" if text else kind


def generation_observed(obj: KubeObject) -> bool:
    """Whether the controller has seen the latest spec (observedGeneration ≥ generation)."""
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status(obj).get("observedGeneration")
    return generation is None or (observed is not None and int(observed) >= int(generation))
