"""The scheduler: binds each pending pod to the first node (by name) that is Ready, not
cordoned (unless the pod tolerates the cordon's taint), whose taints the pod tolerates,
whose labels match its node selector and required node affinity, and whose allocatable
covers the pod's requests on top of the pods already bound there; among those, nodes with
fewer PreferNoSchedule taints the pod does not tolerate come first (kube-scheduler's
TaintToleration scoring). Pods that fit nowhere get `PodScheduled=False/Unschedulable` with
the scheduler's "0/N nodes are available" message."""

from __future__ import annotations

import copy
from collections import Counter
from decimal import Decimal
from typing import Any

from sandbox.api.handlers import Api
from sandbox.api.quantity import parse_quantity
from sandbox.clock import SandboxClock
from sandbox.gpu.events import EventRecorder
from sandbox.gpu.pods import (
    is_terminal,
    node_selector_matches,
    requests_of,
    tolerates,
    untolerated_preferences,
)
from sandbox.gpu.port import LocalPort
from sandbox.gpu.writer import ComponentWriter

PODS = ("", "pods")
NODES = ("", "nodes")
CORDON_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def _ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class Scheduler:
    watched = frozenset({PODS, NODES})

    def __init__(self, api: Api, clock: SandboxClock) -> None:
        self._api = api
        self._clock = clock
        self._writer = ComponentWriter(api, "kube-scheduler")
        self._pod_type = self._writer.rtype("", "v1", "pods")
        self._events = EventRecorder(LocalPort(api), clock, "default-scheduler")

    def reconcile(self, now: float) -> float | None:
        pods, _ = self._api.store.list_objects(PODS)
        pending = [
            p
            for p in pods
            if not p.get("spec", {}).get("nodeName")
            and not is_terminal(p)
            and not p["metadata"].get("deletionTimestamp")
            and p.get("spec", {}).get("schedulerName", "default-scheduler") == "default-scheduler"
        ]
        if not pending:
            return None
        nodes, _ = self._api.store.list_objects(NODES)
        used: dict[str, dict[str, Decimal]] = {n["metadata"]["name"]: {} for n in nodes}
        for pod in pods:
            node_name = pod.get("spec", {}).get("nodeName")
            if node_name in used and not is_terminal(pod):
                for name, value in requests_of(pod).items():
                    used[node_name][name] = used[node_name].get(name, Decimal(0)) + value
        for pod in sorted(pending, key=_queue_order):
            self._schedule(pod, nodes, used)
        return None

    def _schedule(
        self, pod: dict[str, Any], nodes: list[dict[str, Any]], used: dict[str, dict[str, Decimal]]
    ) -> None:
        wanted = requests_of(pod)
        wanted["pods"] = Decimal(1)
        reasons: Counter[str] = Counter()
        ranked = sorted(
            nodes, key=lambda n: untolerated_preferences(pod, (n.get("spec") or {}).get("taints") or [])
        )
        for node in ranked:
            name = node["metadata"]["name"]
            reason = self._misfit(pod, node, wanted, used[name])
            if reason is None:
                bound = copy.deepcopy(pod)
                bound["spec"]["nodeName"] = name
                if self._writer.update(self._pod_type, bound) is None:
                    return
                for res, value in wanted.items():
                    used[name][res] = used[name].get(res, Decimal(0)) + value
                self._set_scheduled(pod["metadata"], "True", "", "")
                meta = pod["metadata"]
                self._events.record(
                    pod,
                    "Scheduled",
                    f"Successfully assigned {meta.get('namespace', '')}/{meta['name']} to {name}",
                )
                return
            reasons[reason] += 1
        summary = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        message = f"0/{len(nodes)} nodes are available: {summary}." if nodes else "no nodes available"
        if self._set_scheduled(pod["metadata"], "False", "Unschedulable", message):
            self._events.record(pod, "FailedScheduling", message, warning=True)

    def _misfit(
        self, pod: dict[str, Any], node: dict[str, Any], wanted: dict[str, Decimal], used: dict[str, Decimal]
    ) -> str | None:
        spec = node.get("spec") or {}
        if not _ready(node):
            return "node(s) were not ready"
        if spec.get("unschedulable") and not tolerates(pod, [CORDON_TAINT]):
            # kube-scheduler's NodeUnschedulable filter: a pod tolerating the cordon's taint
            # (DaemonSet pods, or any `operator: Exists` toleration) may bind to a cordoned node.
            return "node(s) were unschedulable"
        if not tolerates(pod, spec.get("taints") or []):
            return "node(s) had untolerated taint(s)"
        if not node_selector_matches(pod, node["metadata"].get("labels") or {}):
            return "node(s) didn't match Pod's node affinity/selector"
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        for res, value in sorted(wanted.items()):
            if value <= 0:
                continue
            have = parse_quantity(allocatable[res]) if res in allocatable else Decimal(0)
            if used.get(res, Decimal(0)) + value > have:
                return f"Insufficient {res}"
        return None

    def _set_scheduled(self, meta: dict[str, Any], status: str, reason: str, message: str) -> bool:
        """Write the PodScheduled condition; False when it already said this."""
        live = self._api.store.get(PODS, (meta.get("namespace", ""), meta["name"]))
        if live is None:
            return False
        conditions = [
            c for c in (live.get("status") or {}).get("conditions") or [] if c.get("type") != "PodScheduled"
        ]
        current = next(
            (
                c
                for c in (live.get("status") or {}).get("conditions") or []
                if c.get("type") == "PodScheduled"
            ),
            None,
        )
        if current and current.get("status") == status and current.get("message", "") == message:
            return False
        condition = {
            "type": "PodScheduled",
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": self._clock.timestamp(),
        }
        if reason:
            condition |= {"reason": reason, "message": message}
        updated = copy.deepcopy(live)
        updated.setdefault("status", {})["conditions"] = [condition, *conditions]
        return self._writer.update(self._pod_type, updated, "status") is not None


def _queue_order(pod: dict[str, Any]) -> tuple[int, str, str]:
    """Higher priority first, then oldest first, like the scheduling queue."""
    priority = int((pod.get("spec") or {}).get("priority") or 0)
    meta = pod["metadata"]
    return (-priority, meta.get("creationTimestamp", ""), meta["name"])
