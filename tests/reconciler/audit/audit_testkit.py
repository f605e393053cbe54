"""Helpers shared by the audit log tests (imported by conftest and the test modules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from schemas.refs import ObjectRef
from schemas.results import Action, ChangeEntry


class SteppingClock:
    """A clock that starts at a fixed instant and moves forward one second per reading."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        now = self.current
        self.current += timedelta(seconds=1)
        return now


def node_change(i: int) -> ChangeEntry:
    """A relabelled GPU node (one JSON-patch op)."""
    return ChangeEntry(
        ObjectRef("", "Node", "", f"gpu-node-{i}"),
        Action.RELABELLED,
        [{"op": "replace", "path": "/metadata/labels/nvidia.com~1mig.config", "value": "all-1g.10gb"}],
        message="MIG layout all-1g.10gb",
    )


RecordReconcile = Callable[..., str]
