"""Runs the emulated cluster components (MIG manager, device plugin, scheduler, kubelet,
disruption controller) on one background thread, woken by store events on the kinds they
watch or by the next due time on the sandbox clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import structlog

from sandbox.clock import SandboxClock
from sandbox.gpu.port import Change

MAX_SLEEP_S = 0.5
_log = structlog.get_logger("sandbox.controllers")


class Controller(Protocol):
    """One emulated component: acts on the current state and says when it next needs to run."""

    watched: frozenset[tuple[str, str]]

    def reconcile(self, now: float) -> float | None:
        """Do what is due at sandbox time `now`; return the next due sandbox time, if any."""


class ChangeFeed(Protocol):
    """Where the loop hears of changes: the sandbox's store or a `ClusterPort`."""

    def add_listener(self, listener: Callable[[Change], None]) -> None: ...


class ControllerLoop:
    def __init__(self, feed: ChangeFeed, clock: SandboxClock, controllers: list[Controller]) -> None:
        self._clock = clock
        self._controllers = controllers
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._watched = frozenset().union(*(c.watched for c in controllers)) if controllers else frozenset()
        self._thread = threading.Thread(target=self._run, name="sandbox-controllers", daemon=True)
        feed.add_listener(self._on_event)

    def _on_event(self, event: Change) -> None:
        if event.resource in self._watched:
            self._dirty.set()

    def start(self) -> None:
        self._dirty.set()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._dirty.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def run_once(self) -> float | None:
        """Run every controller once; the earliest next due time."""
        due: list[float] = []
        now = self._clock.now()
        for controller in self._controllers:
            try:
                next_due = controller.reconcile(now)
            except Exception:  # one broken pass must not stop the emulated cluster
                _log.exception("controller pass failed", controller=type(controller).__name__)
                next_due = now + 1.0
            if next_due is not None:
                due.append(next_due)
        return min(due) if due else None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._dirty.clear()
            next_due = self.run_once()
            wait = MAX_SLEEP_S
            if next_due is not None:
                wait = min(wait, self._clock.real_seconds(next_due - self._clock.now()))
            if wait > 0:
                self._dirty.wait(wait)
