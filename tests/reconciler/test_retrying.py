"""Retries with backoff and jitter, and the mapping of API errors to transient/terminal ones."""

from __future__ import annotations

import random

import pytest

from reconciler.cluster.retrying import ApiStatusError, RetryPolicy, call_with_retries, classify
from reconciler.errors import ConflictError, NotFoundError, TerminalError, TransientError
from schemas.refs import ObjectRef

REF = ObjectRef("apps", "Deployment", "team-a", "api")


class Flaky:
    """Fails with the given errors in turn, then answers "ok"."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def _call(request: Flaky, sleeps: list[float], attempts: int = 5) -> str:
    return call_with_retries(
        request,
        ref=REF,
        verb="apply",
        policy=RetryPolicy(attempts=attempts, base=0.1, cap=1.0),
        sleep=sleeps.append,
        rng=random.Random(1),
        connection_errors=(ConnectionError,),
    )


def test_429_5xx_and_connection_errors_are_retried() -> None:
    """Throttling, server errors and dropped connections are retried until the request succeeds."""
    sleeps: list[float] = []
    request = Flaky(ApiStatusError(429, "slow down"), ApiStatusError(503, "busy"), ConnectionError("reset"))
    assert _call(request, sleeps) == "ok"
    assert request.calls == 4 and len(sleeps) == 3


def test_backoff_is_jittered_capped_and_honours_retry_after() -> None:
    """Each wait lies in [0, min(cap, base·2^n)], and never below the server's Retry-After."""
    sleeps: list[float] = []
    _call(Flaky(*[ApiStatusError(500, "x")] * 4), sleeps)
    assert all(0 <= s <= min(1.0, 0.1 * 2**n) for n, s in enumerate(sleeps))
    assert len(set(sleeps)) > 1
    sleeps.clear()
    _call(Flaky(ApiStatusError(429, "x", retry_after=2.0)), sleeps)
    assert sleeps == [2.0]


def test_gives_up_with_a_transient_error_naming_the_object() -> None:
    """After the last attempt the caller gets a TransientError naming Kind/namespace/name."""
    with pytest.raises(TransientError) as caught:
        _call(Flaky(*[ApiStatusError(503, "etcd leader changed")] * 3), [], attempts=3)
    assert str(caught.value).startswith("Deployment/team-a/api: apply failed: HTTP 503")


def test_client_errors_are_terminal_at_once() -> None:
    """A 422 is not retried: TerminalError on the first answer."""
    request = Flaky(ApiStatusError(422, "spec.replicas: Invalid value"))
    with pytest.raises(TerminalError):
        _call(request, [])
    assert request.calls == 1


def test_status_classification() -> None:
    """404 → NotFoundError, 409 → ConflictError, 429/5xx → TransientError, 403 → TerminalError."""
    assert isinstance(classify(ApiStatusError(404, ""), REF, "get"), NotFoundError)
    assert isinstance(classify(ApiStatusError(409, ""), REF, "apply"), ConflictError)
    assert isinstance(classify(ApiStatusError(504, ""), REF, "list"), TransientError)
    forbidden = classify(ApiStatusError(403, "forbidden"), REF, "apply")
    assert isinstance(forbidden, TerminalError) and not isinstance(forbidden, TransientError)
