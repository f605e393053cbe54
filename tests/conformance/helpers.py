"""Polling helpers for conformance tests (condition-based waits, never fixed sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "condition") -> T:
    """Call `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def auth_headers(api: Any) -> dict[str, str]:
    """The Authorization header of a client that uses a bearer token (the sandbox); a
    client-certificate user (a real control plane's admin) needs none."""
    token = (api.configuration.api_key or {}).get("BearerToken")
    return {"Authorization": token} if token else {}
