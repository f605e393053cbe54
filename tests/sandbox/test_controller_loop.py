"""The controller loop: woken by store events on watched kinds, and kept alive when a
controller pass raises."""

from __future__ import annotations

import threading

from sandbox.api.store import Store
from sandbox.clock import SandboxClock
from sandbox.gpu.loop import ControllerLoop
from tests.conformance.helpers import wait_for


class _Flaky:
    """Fails on its first pass, then counts passes."""

    watched = frozenset({("", "pods")})

    def __init__(self) -> None:
        self.passes = 0
        self.lock = threading.Lock()

    def reconcile(self, now: float) -> float | None:
        with self.lock:
            self.passes += 1
            if self.passes == 1:
                raise RuntimeError("boom")
        return None


def test_loop_survives_a_failing_pass_and_wakes_on_events() -> None:
    """After a pass raises, the loop keeps running and reacts to a new pod event."""
    store = Store()
    flaky = _Flaky()
    loop = ControllerLoop(store, SandboxClock(), [flaky])
    loop.start()
    try:
        wait_for(lambda: flaky.passes >= 2, timeout=60, what="retry after the failure")
        seen = flaky.passes
        store.put(("", "pods"), {"metadata": {"name": "p", "namespace": "d"}}, "ADDED")
        wait_for(lambda: flaky.passes > seen, timeout=60, what="pass after a pod event")
    finally:
        loop.stop()
