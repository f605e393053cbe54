"""Why the demo stopped: `DemoFailure` names the step's condition that did not hold (a
timeout, a wrong result); the command prints it and exits 1. `wait_for` is the one way the
tour waits: on a real condition, polled, with a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from schemas.errors import Terminal

T = TypeVar("T")

POLL_S = 0.05


class DemoFailure(Terminal):
    """A step of the tour failed; the message says what was expected and what was seen."""


def wait_for(condition: Callable[[], T | None], timeout_s: float, what: str,
             on_poll: Callable[[], object] = lambda: None) -> T:
    """The first truthy value of `condition()`, polled every POLL_S; DemoFailure naming
    `what` after `timeout_s`. `on_poll` runs after every unsuccessful poll (live output)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise DemoFailure(f"timed out after {timeout_s:g} s waiting for {what}")
        on_poll()
        time.sleep(POLL_S)
