"""Progress reporting seam: the library calls `Progress(done, total)`; the CLI draws a bar."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: float, total: float) -> None: ...


def no_progress(done: float, total: float) -> None:
    """The default: report nothing."""
