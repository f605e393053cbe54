"""The two kinds every error gpuctl raises on purpose belongs to, in every package, so that a
caller decides what to do next by type: `Retryable` (the same request may succeed later: a
timeout, 429/5xx, a lock, a lost race) or `Terminal` (it fails again until the input, the
desired state or the cluster changes).

Each package roots its own tree under these two (`reconciler.errors.TransientError` and
`TerminalError`, the simulator's `SimulatorError`, the sandbox's `SandboxError`, ...); a
caller that spans packages (the daemon, the CLI) catches `Retryable` or `Terminal`. This module
imports nothing: every package may use it.
"""

from __future__ import annotations

from typing import ClassVar


class GpuctlError(Exception):
    """Base of both kinds; `retryable` says which one a class is."""

    retryable: ClassVar[bool] = False


class Retryable(GpuctlError):
    """Worth retrying later, unchanged."""

    retryable: ClassVar[bool] = True


class Terminal(GpuctlError):
    """Not worth retrying until something changes."""

    retryable: ClassVar[bool] = False
