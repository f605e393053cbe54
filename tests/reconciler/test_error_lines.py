"""`error_line`: the official client's, the dynamic client's and our own API errors as one line."""

from __future__ import annotations

import json

import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import api_exception

from reconciler.cluster.errortext import error_line, parse_status
from reconciler.cluster.retrying import ApiStatusError, classify
from reconciler.errors import NamespaceMissingError, NotFoundError

STATUS = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "message": 'namespaces "gpu-operator" not found',
    "reason": "NotFound",
    "details": {"name": "gpu-operator", "kind": "namespaces"},
    "code": 404,
}


class _Response:
    status = 404
    reason = "Not Found"
    data = json.dumps(STATUS).encode()
    headers = {"Audit-Id": "6c1f", "Content-Type": "application/json"}

    def getheaders(self) -> dict[str, str]:
        return self.headers


def test_official_client_exception_becomes_one_line() -> None:
    """ApiException's multi-line text (headers, body) becomes code, reason and message."""
    exc = ApiException(http_resp=_Response())
    assert "\n" in str(exc)
    assert error_line(exc) == 'HTTP 404 NotFound: namespaces "gpu-operator" not found'


def test_dynamic_client_exception_becomes_one_line() -> None:
    """The dynamic client's NotFoundError reads the same."""
    exc = api_exception(ApiException(http_resp=_Response()))
    assert error_line(exc) == 'HTTP 404 NotFound: namespaces "gpu-operator" not found'


def test_status_without_body_uses_the_http_reason_phrase() -> None:
    """No Status body (a proxy's 503): the reason phrase stands in for the Status reason."""
    assert error_line(ApiException(status=503, reason="Service Unavailable")) == "HTTP 503 ServiceUnavailable"


def test_our_status_error_prints_as_one_line() -> None:
    """ApiStatusError's own text is the same one line."""
    assert str(ApiStatusError(409, "the object has been modified")) == (
        "HTTP 409 Conflict: the object has been modified"
    )


def test_connection_errors_name_their_type_on_one_line() -> None:
    """An unreachable server: one line saying so and why, never urllib3's multi-line text."""
    exc = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection:\n refused")
    line = error_line(exc)
    assert line == "cannot reach the Kubernetes API: cannot open a connection"


def test_missing_namespace_404_is_classified_with_its_namespace() -> None:
    """A 404 whose Status names `namespaces` becomes NamespaceMissingError naming it; others stay NotFound."""
    info = parse_status(json.dumps(STATUS).encode())
    error = classify(ApiStatusError(404, info.message, info=info), None, "server-side apply")
    assert isinstance(error, NamespaceMissingError) and error.namespace == "gpu-operator"
    assert str(error) == 'server-side apply failed: HTTP 404 NotFound: namespaces "gpu-operator" not found'
    other = classify(ApiStatusError(404, 'configmaps "x" not found'), None, "get")
    assert isinstance(other, NotFoundError) and not isinstance(other, NamespaceMissingError)
