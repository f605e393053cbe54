"""Errors of the reconcile engine, split by what the caller should do next.

A `TransientError` is worth retrying later (429, 5xx, timeouts, a conflict that may clear);
a `TerminalError` will fail again until the desired state or the cluster changes (invalid
object, forbidden, unknown kind). Both name the object they concern as `Kind/namespace/name`.
Both sit under `schemas.errors`' split (`Retryable`, `Terminal`), shared by every package.
This module imports nothing else of ours except `schemas.refs` and `schemas.errors`.
"""

from __future__ import annotations

from schemas.errors import Retryable, Terminal
from schemas.refs import ObjectRef


class ReconcileError(Exception):
    """Base of every error the engine raises on purpose."""

    def __init__(self, message: str, ref: ObjectRef | None = None) -> None:
        self.ref = ref
        self.reason = message
        super().__init__(f"{ref}: {message}" if ref is not None else message)


class TransientError(ReconcileError, Retryable):
    """Retryable: the same request may succeed after `delay` seconds."""

    def __init__(self, message: str, ref: ObjectRef | None = None, delay: float = 5.0) -> None:
        super().__init__(message, ref)
        self.delay = delay


class ApiUnreachableError(TransientError):
    """The API server did not answer at all (refused, unknown host, TLS failure, timeout):
    `cannot reach the Kubernetes API at URL: REASON (kubeconfig K, context C)`."""

    def __init__(self, host: str, reason: str, origin: str = "") -> None:
        suffix = f" ({origin})" if origin else ""
        super().__init__(f"cannot reach the Kubernetes API at {host}: {reason}{suffix}")
        self.host = host
        self.unreachable_reason = reason


class TerminalError(ReconcileError, Terminal):
    """Not retryable without a change to the desired state or the cluster."""


class NotFoundError(TerminalError):
    """The object (or its namespace) does not exist."""


class NamespaceMissingError(NotFoundError):
    """The object's namespace does not exist (404 whose Status names `namespaces`)."""

    def __init__(self, message: str, ref: ObjectRef | None = None, *, namespace: str) -> None:
        super().__init__(message, ref)
        self.namespace = namespace

    @property
    def hint(self) -> str:
        """What to do when the repository does not define the namespace either."""
        return (
            f'add a Namespace "{self.namespace}" to the repository, '
            "or install the operator that creates it"
        )


class ConflictError(TerminalError):
    """Server-side apply conflict with another field manager (when not forcing)."""


class RolloutError(TerminalError):
    """A GPU node rollout halted (MIG manager reported failed, or a step timed out)."""
