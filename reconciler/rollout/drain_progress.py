"""What a drain waits for, told while it waits: the GPU pods still on the node and, for each
eviction the API refused, the refusal (a PodDisruptionBudget's 429 names the budget).

A `DrainTracker` (one per pool stepper) remembers the latest refusal per pod and tells its
`DrainObserver` about a blocked drain when the first refusal arrives and then every
`REPORT_INTERVAL` seconds, and when the drain ends. Observers: the CLI prints the report,
the daemon logs it, posts it as a Node Event and shows it on /status. A drain that times out
names the same pods and refusals in its failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import structlog

from reconciler.protocols import ClusterClient
from schemas.refs import ObjectRef

REPORT_INTERVAL = 10.0
BLOCKED_REASON = "DrainBlocked"
_MAX_SHOWN = 5

log = structlog.get_logger("gpuctl.rollout.drain")


@runtime_checkable
class ExplainsEvictions(Protocol):
    """A client that says why an eviction was refused (`KubeClusterClient` does)."""

    def evict_explained(self, namespace: str, name: str) -> str | None: ...


def evict(client: ClusterClient, namespace: str, name: str) -> str | None:
    """Evict one pod: None when it is evicted (or gone), else why the API refused it now."""
    if isinstance(client, ExplainsEvictions):
        return client.evict_explained(namespace, name)
    return None if client.evict(namespace, name) else "eviction refused (no reason given)"


@dataclass(frozen=True)
class BlockedPod:
    namespace: str
    name: str
    # The API's answer to the last eviction ("" while the pod terminates or was not tried yet).
    refusal: str = ""

    def describe(self) -> str:
        ref = f"Pod/{self.namespace}/{self.name}"
        return f"{ref} ({self.refusal})" if self.refusal else f"{ref} (terminating)"


@dataclass(frozen=True)
class DrainReport:
    """One node's drain as it stands: how long it has run, what is left, what refuses."""

    pool: str
    node: str
    elapsed: float
    timeout: float
    pods: tuple[BlockedPod, ...]

    def message(self) -> str:
        shown = "; ".join(p.describe() for p in self.pods[:_MAX_SHOWN])
        more = f"; +{len(self.pods) - _MAX_SHOWN} more" if len(self.pods) > _MAX_SHOWN else ""
        return (
            f"draining for {self.elapsed:.0f}s of {self.timeout:g}s, "
            f"{len(self.pods)} GPU pod(s) left: {shown}{more}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "node": self.node,
            "elapsedSeconds": round(self.elapsed, 1),
            "timeoutSeconds": self.timeout,
            "pods": [{"pod": f"{p.namespace}/{p.name}", "refusal": p.refusal} for p in self.pods],
        }


class DrainObserver(Protocol):
    def drain_blocked(self, report: DrainReport) -> None: ...

    def drain_ended(self, pool: str, node: str, *, drained: bool) -> None: ...


@dataclass
class DrainTracker:
    """The refusals seen per node and when each node's drain was last reported."""

    observer: DrainObserver | None = None
    interval: float = REPORT_INTERVAL
    _refusals: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)
    _reported: dict[str, float] = field(default_factory=dict)

    def refused(self, node: str, namespace: str, pod: str, refusal: str) -> None:
        self._refusals.setdefault(node, {})[(namespace, pod)] = refusal

    def evicted(self, node: str, namespace: str, pod: str) -> None:
        self._refusals.get(node, {}).pop((namespace, pod), None)

    def blocked_pods(self, node: str, remaining: list[dict[str, Any]]) -> tuple[BlockedPod, ...]:
        refusals = self._refusals.get(node, {})
        pods = []
        for pod in remaining:
            meta = pod.get("metadata") or {}
            key = (str(meta.get("namespace") or ""), str(meta.get("name")))
            pods.append(BlockedPod(key[0], key[1], refusals.get(key, "")))
        return tuple(sorted(pods, key=lambda p: (p.namespace, p.name)))

    def observe(
        self,
        pool: str,
        node: str,
        *,
        elapsed: float,
        timeout: float,
        now: float,
        remaining: list[dict[str, Any]],
    ) -> None:
        """Tell the observer about this drain if it is due: at the first refusal, then every
        `interval` seconds (a drain merely waiting for pods to terminate: after `interval`)."""
        last = self._reported.get(node)
        refused = bool(self._refusals.get(node))
        due = now - last >= self.interval if last is not None else refused or elapsed >= self.interval
        if not due:
            return
        self._reported[node] = now
        if self.observer is not None:
            self.observer.drain_blocked(
                DrainReport(pool, node, elapsed, timeout, self.blocked_pods(node, remaining))
            )

    def ended(self, pool: str, node: str, *, drained: bool) -> None:
        self._refusals.pop(node, None)
        if self._reported.pop(node, None) is not None and self.observer is not None:
            self.observer.drain_ended(pool, node, drained=drained)

    def timeout_detail(self, node: str, remaining: list[dict[str, Any]]) -> str:
        """The pods left and what refused them, for a drain timeout's failure message."""
        pods = self.blocked_pods(node, remaining)
        shown = "; ".join(p.describe() for p in pods[:_MAX_SHOWN])
        return shown + (f"; +{len(pods) - _MAX_SHOWN} more" if len(pods) > _MAX_SHOWN else "")


class EventPoster(Protocol):
    def record(
        self, ref: ObjectRef, *, reason: str, message: str, revision: str, warning: bool = False
    ) -> bool: ...


class DrainObservers:
    """Several observers as one."""

    def __init__(self, *observers: DrainObserver) -> None:
        self._observers = observers

    def drain_blocked(self, report: DrainReport) -> None:
        for observer in self._observers:
            observer.drain_blocked(report)

    def drain_ended(self, pool: str, node: str, *, drained: bool) -> None:
        for observer in self._observers:
            observer.drain_ended(pool, node, drained=drained)


class DrainLog:
    """Blocked drains as structured log lines (the daemon's JSON log)."""

    def drain_blocked(self, report: DrainReport) -> None:
        log.warning(
            "drain blocked",
            node=f"Node/{report.node}",
            pool=report.pool,
            message=report.message(),
            **{k: v for k, v in report.as_dict().items() if k not in ("node", "pool")},
        )

    def drain_ended(self, pool: str, node: str, *, drained: bool) -> None:
        log.info("drain finished" if drained else "drain given up", node=f"Node/{node}", pool=pool)


class DrainEvents:
    """Blocked drains as Warning Events on the Node (`kubectl describe node` shows them)."""

    def __init__(self, poster: EventPoster, revision: str) -> None:
        self._poster = poster
        self._revision = revision

    def drain_blocked(self, report: DrainReport) -> None:
        ref = ObjectRef("", "Node", "", report.node)
        message = f"rollout of pool {report.pool}: {report.message()}"[:1024]
        self._poster.record(
            ref, reason=BLOCKED_REASON, message=message, revision=self._revision, warning=True
        )

    def drain_ended(self, pool: str, node: str, *, drained: bool) -> None:
        return None


class DrainBoard:
    """The drains blocked right now, newest report per node (the daemon's /status)."""

    def __init__(self) -> None:
        self._reports: dict[str, DrainReport] = {}

    def drain_blocked(self, report: DrainReport) -> None:
        self._reports[report.node] = report

    def drain_ended(self, pool: str, node: str, *, drained: bool) -> None:
        self._reports.pop(node, None)

    def clear(self) -> None:
        """Forget every report (a new pass starts; an interrupted one may have left some)."""
        self._reports.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        reports = dict(self._reports)
        return [reports[name].as_dict() | {"message": reports[name].message()} for name in sorted(reports)]
