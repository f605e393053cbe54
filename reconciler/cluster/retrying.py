"""Retries with exponential backoff and full jitter for requests that may succeed later
(429 Too Many Requests, 5xx, connection errors and timeouts), and the mapping of API
error statuses to `TransientError` / `TerminalError` naming the object concerned.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.cluster.errortext import StatusInfo, error_line, missing_namespace, status_line
from reconciler.errors import (
    ConflictError,
    NamespaceMissingError,
    NotFoundError,
    TerminalError,
    TransientError,
)
from schemas.refs import ObjectRef

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries; the n-th wait is uniform in [0, min(cap, base × 2^n)]."""

    attempts: int = 5
    base: float = 0.1
    cap: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.cap, self.base * (2**attempt)))


class ApiStatusError(Exception):
    """An HTTP error answer of the API server (status code and the Status it carried); its text
    is one line, `HTTP 404 NotFound: namespaces "x" not found` (`errortext.status_line`)."""

    def __init__(
        self,
        status: int,
        message: str,
        retry_after: float | None = None,
        causes: tuple[str, ...] = (),
        *,
        info: StatusInfo | None = None,
    ) -> None:
        self.info = info or StatusInfo(message=message)
        super().__init__(status_line(status, self.info))
        self.status = status
        self.message = message
        self.retry_after = retry_after
        # The Status's details.causes messages (e.g. which PodDisruptionBudget refused an eviction).
        self.causes = causes


def classify(exc: ApiStatusError, ref: ObjectRef | None, verb: str) -> TransientError | TerminalError:
    """Our error for an API error answer to `verb` on `ref`."""
    text = f"{verb} failed: {exc}"
    if exc.status in RETRYABLE_STATUSES:
        return TransientError(text, ref, delay=exc.retry_after or 1.0)
    if exc.status == 404:
        namespace = missing_namespace(exc.status, exc.info)
        if namespace:
            return NamespaceMissingError(text, ref, namespace=namespace)
        return NotFoundError(text, ref)
    if exc.status == 409:
        return ConflictError(text, ref)
    return TerminalError(text, ref)


def call_with_retries(
    request: Callable[[], T],
    *,
    ref: ObjectRef | None,
    verb: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    rng: random.Random,
    connection_errors: tuple[type[BaseException], ...],
    unreachable: Callable[[BaseException], TransientError | None] | None = None,
) -> T:
    """Run `request`, retrying transient failures; raise Transient/TerminalError when done.
    `unreachable` turns a failure to reach the server into its one-line error (else the
    error names `verb` and the exception)."""
    last: TransientError | None = None
    for attempt in range(policy.attempts):
        try:
            return request()
        except ApiStatusError as exc:
            error = classify(exc, ref, verb)
            if isinstance(error, TerminalError):
                raise error from exc
            last = error
            wait = max(policy.delay(attempt, rng), exc.retry_after or 0.0)
        except connection_errors as exc:
            said = unreachable(exc) if unreachable is not None else None
            last = said or TransientError(f"{verb} failed: {error_line(exc)}", ref)
            wait = policy.delay(attempt, rng)
        if attempt + 1 < policy.attempts:
            sleep(wait)
    assert last is not None
    raise last
