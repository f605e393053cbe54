"""Plain JSON requests to an API server through the official client's connection handling
(kubeconfig, TLS, client certificates, tokens): objects stay dicts in the API's own field
names, as the emulated components read and write them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubernetes import config
from kubernetes.client import ApiClient
from kubernetes.watch.watch import iter_resp_lines

from sandbox.gpu.port import VERSIONS, Resource

CLUSTER_SCOPED: frozenset[Resource] = frozenset({("", "nodes"), ("nvidia.com", "clusterpolicies")})
REQUEST_TIMEOUT_S = 30.0


class RestError(Exception):
    """A request the server refused: its HTTP code and the Status's reason and message."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"HTTP {code} {reason}: {message}")
        self.code = code
        self.reason = reason


def path_of(resource: Resource, namespace: str = "", name: str = "", subresource: str = "") -> str:
    """The URL path of a collection or an object."""
    group, plural = resource
    version = VERSIONS.get(resource, "v1")
    path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    if namespace and resource not in CLUSTER_SCOPED:
        path += f"/namespaces/{namespace}"
    path += f"/{plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


def _error(code: int, data: bytes) -> RestError:
    try:
        status = json.loads(data or b"{}")
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    return RestError(code, str(status.get("reason") or "Unknown"), str(status.get("message") or ""))


class Rest:
    """JSON verbs on one API server."""

    def __init__(self, kubeconfig: Path, context: str | None = None) -> None:
        self._client: ApiClient = config.new_client_from_config(config_file=str(kubeconfig), context=context)

    @property
    def client(self) -> ApiClient:
        return self._client

    def close(self) -> None:
        self._client.close()

    def _send(self, method: str, path: str, body: Any, query: dict[str, str], timeout_s: float) -> Any:
        serialized = self._client.param_serialize(
            method,
            path,
            query_params=list(query.items()),
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self._client.call_api(*serialized, _request_timeout=timeout_s)
        if not 200 <= response.status < 300:
            raise _error(int(response.status), response.read())
        return response

    def request(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """One request; the decoded JSON reply. RestError when the server refuses it."""
        data = self._send(method, path, body, query or {}, REQUEST_TIMEOUT_S).read()
        decoded: dict[str, Any] = json.loads(data) if data else {}
        return decoded

    def stream(self, path: str, query: dict[str, str], timeout_s: float) -> tuple[Any, Iterator[str]]:
        """A watch: the open response (close it to stop) and its lines."""
        raw = self._send("GET", path, None, query, timeout_s).response
        lines: Iterator[str] = iter_resp_lines(raw)
        return raw, lines
