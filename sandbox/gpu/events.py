"""Kubernetes Events from the emulated components (core/v1 `Event`), as `kubectl describe`
shows them: `Scheduled` and `FailedScheduling` from the scheduler, `Started` and
`Completed` from the kubelet."""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.api.errors import ApiError
from sandbox.api.handlers import Api, Request
from sandbox.clock import SandboxClock


class EventRecorder:
    def __init__(self, api: Api, clock: SandboxClock, component: str) -> None:
        self._api = api
        self._clock = clock
        self._component = component
        event_type = api.registry.lookup("", "v1", "events")
        assert event_type is not None
        self._type = event_type

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
            "reportingComponent": self._component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self._api.create(Request(self._type, namespace, params={"fieldManager": self._component}), event)
        except ApiError:  # the namespace went away meanwhile: events are best effort, as upstream
            return
