"""API errors as one line, everywhere (CLI, logs, Events, the audit log):
`HTTP 404 NotFound: namespaces "gpu-operator" not found`, from the Status object's code, reason
and message, never the Python client's multi-line exception text (headers, audit ids, body).

A 404 whose Status names a missing namespace becomes `NamespaceMissingError`
(`retrying.classify`); the applier adds the hint (add the Namespace to the repository, or
install the operator that creates it) when the repository does not define that namespace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus

from reconciler.cluster.unreachable import host_of, reason_of

MAX_MESSAGE = 300


@dataclass(frozen=True)
class StatusInfo:
    """What a `metav1.Status` error answer says (empty strings when the body is not a Status)."""

    reason: str = ""
    message: str = ""
    details_kind: str = ""
    details_name: str = ""


def parse_status(body: bytes | str | None) -> StatusInfo:
    """The Status in an error answer's body; a non-JSON body becomes the (shortened) message."""
    if not body:
        return StatusInfo()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        status = json.loads(text)
    except ValueError:
        return StatusInfo(message=_first_line(text))
    if not isinstance(status, dict):
        return StatusInfo()
    raw = status.get("details")
    details: dict[str, object] = raw if isinstance(raw, dict) else {}
    return StatusInfo(
        reason=str(status.get("reason") or ""),
        message=_first_line(str(status.get("message") or "")),
        details_kind=str(details.get("kind") or ""),
        details_name=str(details.get("name") or ""),
    )


def status_line(code: int, status: StatusInfo) -> str:
    """`HTTP <code> <Reason>: <message>` (the reason phrase when the Status has none)."""
    reason = status.reason or _phrase(code)
    line = f"HTTP {code} {reason}" if reason else f"HTTP {code}"
    return f"{line}: {status.message}" if status.message else line


def missing_namespace(code: int, status: StatusInfo) -> str:
    """The namespace a 404 says is missing ("" when the error is not that)."""
    return status.details_name if code == 404 and status.details_kind == "namespaces" else ""


def error_line(exc: BaseException) -> str:
    """One line for any error a Kubernetes call raises: API answers (the official client's
    `ApiException`, the dynamic client's errors, ours), a server that cannot be reached
    (`cannot reach the Kubernetes API at URL: connection refused`), anything else."""
    code = getattr(exc, "status", None)
    if isinstance(code, int) and code >= 100:
        body = getattr(exc, "body", None)
        status = parse_status(body) if isinstance(body, bytes | str) else StatusInfo()
        if not status.message:
            own = getattr(exc, "message", None)
            status = StatusInfo(status.reason, _first_line(str(own or "")), status.details_kind,
                                status.details_name)  # fmt: skip
        return status_line(code, status)
    reason = reason_of(exc)
    if reason is not None:
        host = host_of(exc)
        return f"cannot reach the Kubernetes API{f' at {host}' if host else ''}: {reason}"
    text = _first_line(str(exc))
    name = type(exc).__name__
    return f"{name}: {text}" if text and not text.startswith(name) else (text or name)


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase.replace(" ", "")
    except ValueError:
        return ""


def _first_line(text: str) -> str:
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"

