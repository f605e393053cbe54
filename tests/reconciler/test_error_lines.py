"""`error_line`: the official client's, the dynamic client's and our own API errors as one line."""

from __future__ import annotations

import json

import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import api_exception

from reconciler.cluster.errortext import error_line
from reconciler.cluster.retrying import ApiStatusError

STATUS = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "message": 'namespaces "gpu-operator" not found',
    "reason": "NotFound",
    "details": {"name": "gpu-operator", "kind": "namespaces"},
    "code": 404,
}
HINT = 'add a Namespace "gpu-operator" to the repository, or install the operator that creates it'


class _Response:
    status = 404
    reason = "Not Found"
    data = json.dumps(STATUS).encode()
    headers = {"Audit-Id": "6c1f", "Content-Type": "application/json"}

    def getheaders(self) -> dict[str, str]:
        return self.headers


def test_official_client_exception_becomes_one_line() -> None:
    """ApiException's multi-line text (headers, body) becomes code, reason, message and the hint."""
    exc = ApiException(http_resp=_Response())
    assert "\n" in str(exc)
    assert error_line(exc) == f'HTTP 404 NotFound: namespaces "gpu-operator" not found; {HINT}'


def test_dynamic_client_exception_becomes_one_line() -> None:
    """The dynamic client's NotFoundError reads the same."""
    exc = api_exception(ApiException(http_resp=_Response()))
    assert error_line(exc) == f'HTTP 404 NotFound: namespaces "gpu-operator" not found; {HINT}'


def test_status_without_body_uses_the_http_reason_phrase() -> None:
    """No Status body (a proxy's 503): the reason phrase stands in for the Status reason."""
    assert error_line(ApiException(status=503, reason="Service Unavailable")) == "HTTP 503 ServiceUnavailable"


def test_our_status_error_prints_as_one_line() -> None:
    """ApiStatusError's own text is the same one line."""
    assert str(ApiStatusError(409, "the object has been modified")) == (
        "HTTP 409 Conflict: the object has been modified"
    )


def test_connection_errors_name_their_type_on_one_line() -> None:
    """An unreachable server: the exception's type and the first line of its text."""
    exc = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection:\n refused")
    line = error_line(exc)
    assert line.startswith("NewConnectionError: ") and "\n" not in line
