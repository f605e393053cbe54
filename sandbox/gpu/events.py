"""Kubernetes Events from the emulated components (core/v1 `Event`), as `kubectl describe`
shows them: `Scheduled` and `FailedScheduling` from the scheduler, `Started` and
`Completed` from the kubelet. Legacy-style (`source.component`, no `reportingController`),
which a real API server accepts without the events.k8s.io fields."""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.clock import SandboxClock
from sandbox.gpu.port import EVENTS, ClusterPort


class EventRecorder:
    def __init__(self, port: ClusterPort, clock: SandboxClock, component: str) -> None:
        self._port = port
        self._clock = clock
        self._component = component

    def record(self, involved: dict[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
        """Write one Event about `involved` (a stored object) in its namespace ("default" for
        cluster-scoped objects, as upstream)."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        now = self._clock.timestamp()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion", "v1"),
                "kind": involved.get("kind", ""),
                "name": meta["name"],
                "namespace": meta.get("namespace", ""),
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": "Warning" if warning else "Normal",
            "source": {"component": self._component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        # None when the namespace went away meanwhile: events are best effort, as upstream.
        self._port.create(EVENTS, event, self._component)
