"""API errors as the Kubernetes API server reports them: an HTTP code plus a `Status` body.

Every failure the sandbox serves goes through `ApiError.status()`, so clients see the same
`reason`, `message` and `details` shapes a real API server sends (NotFound, AlreadyExists,
Conflict, Invalid, Expired, TooManyRequests, MethodNotAllowed, ...).
"""

from __future__ import annotations

from typing import Any

from sandbox.errors import SandboxError


class ApiError(SandboxError):
    """A request that fails with a Kubernetes `Status`."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        """The `Status` object of this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    kind = _qualified(plural, group)
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return ApiError(404, "NotFound", f'{kind} "{name}" not found', details)


def already_exists(plural: str, group: str, name: str) -> ApiError:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return ApiError(409, "AlreadyExists", f'{_qualified(plural, group)} "{name}" already exists', details)


def conflict(plural: str, group: str, name: str, why: str) -> ApiError:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": {why}',
        details,
    )


STALE_VERSION = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422 Invalid; `causes` are (field, reason, message) triples, as field.Error renders them."""
    rendered = [{"reason": reason, "message": message, "field": field} for field, reason, message in causes]
    summary = ", ".join(f"{field}: {message}" for field, _, message in causes)
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": rendered}
    if group:
        details["group"] = group
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def path_not_found(path: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        "the server could not find the requested resource",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": f"404 page not found: {path}"}]},
    )


def unsupported_media_type(content_type: str, supported: list[str]) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{', '.join(supported)} (got {content_type!r})",
    )


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_many_requests(
    message: str, retry_after: int = 1, causes: list[dict[str, str]] | None = None
) -> ApiError:
    details: dict[str, Any] = {"retryAfterSeconds": retry_after}
    if causes:
        details["causes"] = causes
    return ApiError(429, "TooManyRequests", message, details, {"Retry-After": str(retry_after)})


def internal(message: str) -> ApiError:
    return ApiError(
        500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]}
    )


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")
