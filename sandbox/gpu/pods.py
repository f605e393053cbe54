"""Facts about pods the scheduler, kubelet and MIG manager share: requested resources,
tolerations, node selectors, GPU-ness, the declared runtime."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.api.quantity import parse_quantity
from sandbox.api.selectors import Requirement

RUNTIME_ANNOTATION = "sandbox.gpuctl.dev/runtime-seconds"
GPU_PREFIX = "nvidia.com/"


def requests_of(pod: dict[str, Any]) -> dict[str, Decimal]:
    """Effective requests: per container, requests (limits when a request is absent), summed;
    init containers count with their maximum, as the scheduler does."""
    spec = pod.get("spec") or {}

    def one(container: dict[str, Any]) -> dict[str, Decimal]:
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        return {name: parse_quantity(value) for name, value in merged.items()}

    total: dict[str, Decimal] = {}
    for container in spec.get("containers") or []:
        for name, value in one(container).items():
            total[name] = total.get(name, Decimal(0)) + value
    for container in spec.get("initContainers") or []:
        for name, value in one(container).items():
            total[name] = max(total.get(name, Decimal(0)), value)
    return total


def is_gpu_pod(pod: dict[str, Any]) -> bool:
    return any(name.startswith(GPU_PREFIX) and value > 0 for name, value in requests_of(pod).items())


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def runtime_seconds(pod: dict[str, Any]) -> float | None:
    """The declared runtime (sandbox seconds), or None: runs until deleted."""
    value = (pod["metadata"].get("annotations") or {}).get(RUNTIME_ANNOTATION)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def tolerates(pod: dict[str, Any], taints: list[dict[str, Any]]) -> bool:
    """Every NoSchedule/NoExecute taint is tolerated."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in taints:
        if taint.get("effect") == "PreferNoSchedule":
            continue
        if not any(_tolerates(t, taint) for t in tolerations):
            return False
    return True


def untolerated_preferences(pod: dict[str, Any], taints: list[dict[str, Any]]) -> int:
    """How many PreferNoSchedule taints the pod does not tolerate (kube-scheduler's
    TaintToleration score: fewer is better; such taints never make a node infeasible)."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    return sum(
        1
        for taint in taints
        if taint.get("effect") == "PreferNoSchedule" and not any(_tolerates(t, taint) for t in tolerations)
    )


def _tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if not toleration.get("key"):
        return toleration.get("operator") == "Exists"
    if toleration["key"] != taint.get("key"):
        return False
    if toleration.get("operator") == "Exists":
        return True
    return bool(toleration.get("value", "") == taint.get("value", ""))


def node_selector_matches(pod: dict[str, Any], labels: dict[str, str]) -> bool:
    """spec.nodeSelector and required node affinity (matchExpressions on labels)."""
    spec = pod.get("spec") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    for term in terms:
        expressions = (term.get("matchExpressions") if isinstance(term, dict) else None) or []
        if all(_expression_matches(expr, labels) for expr in expressions):
            return True
    return False


def _expression_matches(expr: Any, labels: dict[str, str]) -> bool:
    """One node-selector requirement; a malformed one matches nothing (as an invalid term would)."""
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    if not isinstance(expr, dict) or not isinstance(expr.get("key"), str) or expr.get("operator") not in ops:
        return False
    return Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ())).matches(labels)
