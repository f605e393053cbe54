"""The kubelet of every sandbox node: starts bound pods (Pending → Running, Ready), ends
them after their declared runtime (`sandbox.gpuctl.dev/runtime-seconds`, sandbox clock) as
Succeeded, and finishes graceful deletions after a short termination delay."""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable
from typing import Any

from sandbox.clock import SandboxClock, parse_timestamp
from sandbox.gpu.events import EventRecorder
from sandbox.gpu.pods import is_terminal, runtime_seconds
from sandbox.gpu.port import PODS, ClusterPort
from sandbox.spec import GpuTimings

KUBELET = "kubelet"


class Kubelet:
    watched = frozenset({PODS})

    def __init__(
        self,
        port: ClusterPort,
        clock: SandboxClock,
        timings: GpuTimings,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        """`owns` says which nodes' pods this kubelet runs (every bound pod by default)."""
        self._port = port
        self._clock = clock
        self._timings = timings
        self._owns = owns
        self._events = EventRecorder(port, clock, KUBELET)
        self._bound_at: dict[str, float] = {}

    def reconcile(self, now: float) -> float | None:
        pods = self._port.list(PODS)
        due: list[float] = []
        live_uids = set()
        for pod in pods:
            uid = pod["metadata"].get("uid", "")
            live_uids.add(uid)
            node = pod.get("spec", {}).get("nodeName")
            if not node or (self._owns is not None and not self._owns(node)):
                continue
            next_due = self._step(pod, uid, now)
            if next_due is not None:
                due.append(next_due)
        for uid in set(self._bound_at) - live_uids:
            del self._bound_at[uid]
        return min(due) if due else None

    def _step(self, pod: dict[str, Any], uid: str, now: float) -> float | None:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return self._terminate(pod, now)
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Pending":
            start_at = self._bound_at.setdefault(uid, now) + self._timings.pod_start_s
            if now < start_at:
                return start_at
            self._start(pod, now)
            runtime = runtime_seconds(pod)
            return now + runtime if runtime is not None else None
        if phase == "Running":
            runtime = runtime_seconds(pod)
            started = (pod.get("status") or {}).get("startTime")
            if runtime is None or not started:
                return None
            end = parse_timestamp(started) + runtime
            if now < end:
                return end
            self._finish(pod)
        return None

    def _terminate(self, pod: dict[str, Any], now: float) -> float | None:
        meta = pod["metadata"]
        requested = parse_timestamp(meta["deletionTimestamp"]) - float(
            meta.get("deletionGracePeriodSeconds") or 0
        )
        grace = float(meta.get("deletionGracePeriodSeconds") or 0)
        gone_at = requested + min(grace, self._timings.pod_termination_s)
        if is_terminal(pod) or now >= gone_at:
            self._port.finish_delete(PODS, pod)
            return None
        return gone_at

    def _start(self, pod: dict[str, Any], now: float) -> None:
        running = copy.deepcopy(pod)
        stamp = self._clock.timestamp(now)
        status = running.setdefault("status", {})
        conditions = [
            c
            for c in status.get("conditions") or []
            if c.get("type") not in ("Ready", "Initialized", "ContainersReady")
        ]
        status |= {
            "phase": "Running",
            "startTime": stamp,
            "hostIP": "10.0.0.1",
            "podIP": _pod_ip(pod["metadata"].get("uid", "")),
            "conditions": [
                *conditions,
                {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": stamp},
                {"type": "Ready", "status": "True", "lastTransitionTime": stamp},
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": stamp}},
                }
                for c in running.get("spec", {}).get("containers") or []
            ],
        }
        if self._port.update(PODS, running, KUBELET, "status") is not None:
            names = ", ".join(c["name"] for c in running.get("spec", {}).get("containers") or [])
            self._events.record(running, "Started", f"Started container(s) {names}")

    def _finish(self, pod: dict[str, Any]) -> None:
        done = copy.deepcopy(pod)
        stamp = self._clock.timestamp()
        status = done.setdefault("status", {})
        status["phase"] = "Succeeded"
        status["conditions"] = [
            {**c, "status": "False", "reason": "PodCompleted", "lastTransitionTime": stamp}
            if c.get("type") in ("Ready", "ContainersReady")
            else c
            for c in status.get("conditions") or []
        ]
        status["containerStatuses"] = [
            {
                **cs,
                "ready": False,
                "started": False,
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "finishedAt": stamp,
                        "startedAt": (cs.get("state", {}).get("running") or {}).get("startedAt"),
                    }
                },
            }
            for cs in status.get("containerStatuses") or []
        ]
        if self._port.update(PODS, done, KUBELET, "status") is not None:
            self._events.record(
                done, "Completed", "All containers exited with code 0 after the declared runtime"
            )


def _pod_ip(uid: str) -> str:
    digest = zlib.crc32(uid.encode())
    return f"10.244.{(digest >> 8) % 250}.{digest % 250 + 2}"
