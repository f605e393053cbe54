"""An API server that cannot be reached, said in one line as kubectl says it:
`cannot reach the Kubernetes API at https://127.0.0.1:1: connection refused (kubeconfig K,
context C)`, never urllib3's `MaxRetryError: HTTPSConnectionPool(host=…)…` chain.

`reason_of` reads the cause out of the exception chain urllib3 and the kubernetes client
raise (refused, unknown host, TLS, timeout, reset); `reconciler.errors.ApiUnreachableError` is the retryable
error every cluster call raises with it once its retries are used up.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Callable, Iterator

import urllib3

from reconciler.errors import ApiUnreachableError

__all__ = ["ApiUnreachableError", "reason_of", "unreachable"]

_MAX_CHAIN = 12


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it wraps: urllib3's `reason`, `__cause__`, `__context__`, exception args."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < _MAX_CHAIN:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [getattr(current, "reason", None), current.__cause__, current.__context__]
        wrapped += list(current.args)
        todo += [w for w in wrapped if isinstance(w, BaseException)]


def reason_of(exc: BaseException) -> str | None:
    """Why the server could not be reached, in kubectl's words; None when `exc` is not a
    failure to reach it (an HTTP answer, a decoding error…)."""
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            detail = getattr(item, "verify_message", None) or "certificate verify failed"
            return f"TLS handshake failed: {detail}"
        if isinstance(item, ssl.SSLError | urllib3.exceptions.SSLError):
            detail = getattr(item, "reason", None) or str(item).split("(", 1)[0].strip()
            return f"TLS handshake failed: {str(detail).lower() or 'unknown error'}"
    checks: tuple[tuple[str, Callable[[BaseException], bool]], ...] = (
        ("connection refused",
         lambda e: isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED),
        ("no such host", lambda e: isinstance(e, socket.gaierror | urllib3.exceptions.NameResolutionError)),
        ("connection reset by the server", lambda e: isinstance(e, ConnectionResetError)),
        ("the server did not answer in time", lambda e: isinstance(e, urllib3.exceptions.ReadTimeoutError)),
        ("connection timed out",
         lambda e: isinstance(e, TimeoutError | socket.timeout)
         or (isinstance(e, urllib3.exceptions.ConnectTimeoutError)
             and not isinstance(e, urllib3.exceptions.NewConnectionError))),
        # urllib3 makes every failed connect a NewConnectionError; with no cause more telling:
        ("cannot open a connection", lambda e: isinstance(e, urllib3.exceptions.NewConnectionError)),
        ("the server closed the connection", lambda e: isinstance(e, urllib3.exceptions.ProtocolError)),
    )  # fmt: skip
    for reason, matches in checks:  # the most telling cause first, wherever it is in the chain
        if any(matches(item) for item in chain):
            return reason
    for item in chain:
        code = getattr(item, "errno", None)
        if isinstance(item, OSError) and isinstance(code, int) and code:
            return (item.strerror or errno.errorcode.get(code, str(code))).lower()
    return None


def host_of(exc: BaseException) -> str:
    """`https://host:port` of the connection pool urllib3 names in `exc` ("" when none)."""
    for item in _chain(exc):
        pool = getattr(item, "pool", None)
        if pool is not None and getattr(pool, "host", None):
            return f"{getattr(pool, 'scheme', 'https')}://{pool.host}:{pool.port}"
    return ""


def unreachable(exc: BaseException, host: str, origin: str) -> ApiUnreachableError | None:
    """The one-line error for `exc` when it is a failure to reach `host`, else None."""
    reason = reason_of(exc)
    return None if reason is None else ApiUnreachableError(host, reason, origin)
