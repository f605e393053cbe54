"""Crash points for the crash tests: with `GPUCTL_CRASH_AT=<point>:<n>` in the environment,
the process kills itself with SIGKILL the n-th time it passes `<point>` (n counts from 1),
as `kill -9` or an OOM kill would, at a moment a test can choose exactly. Without the
variable (always, outside the crash tests) `crash_point` only compares a name and returns.

The points, in the order a node's rollout passes them: `cordon-write`, `cordon-recorded`,
`evict` (before an eviction request), `relabel-write`, `relabel-recorded`, `mig-wait`,
`uncordon-write`, `uncordon-recorded` (each `*-write` is after the cluster write and before
its audit entry, each `*-recorded` right after the entry), and `audit-append` (an audit
entry built and inserted, its transaction not yet committed). Every write kind of
`ChangeRecorder` also has `<kind>-intent`, `<kind>-write` and `<kind>-recorded`
(docs/reliability.md lists the kinds).
"""

from __future__ import annotations

import os
import signal
import threading

_VARIABLE = "GPUCTL_CRASH_AT"


def _parse(value: str) -> tuple[str, int] | None:
    point, _, count = value.partition(":")
    if not point:
        return None
    return point, int(count or "1")


_TARGET = _parse(os.environ.get(_VARIABLE, ""))
_passes = [0]
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """SIGKILL this process if `name` is the armed point and this is its n-th pass."""
    if _TARGET is None or name != _TARGET[0]:
        return
    with _lock:
        _passes[0] += 1
        if _passes[0] == _TARGET[1]:
            os.kill(os.getpid(), signal.SIGKILL)
