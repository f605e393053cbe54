"""The daemon's HTTP server (stdlib ThreadingHTTPServer): `/healthz`, `/readyz`,
`/metrics`, `/status` and the webhook endpoints `/webhooks/{github,gitlab,generic}`.
It only routes; the decisions live in `webhooks.py`, `metrics.py` and `status.py`."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

from reconciler.daemon.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.webhooks import Provider, WebhookReceiver

log = structlog.get_logger("gpuctl.daemon.http")


@dataclass
class Endpoints:
    """What the HTTP handlers ask the daemon."""

    metrics: DaemonMetrics
    healthy: Callable[[], bool]
    ready: Callable[[], bool]
    status: Callable[[], dict[str, Any]]
    webhooks: WebhookReceiver | None


def parse_listen(address: str) -> tuple[str, int]:
    """`HOST:PORT` (or `:PORT`, `[::1]:PORT`) → (host, port); ValueError if malformed."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen address {address!r} must be HOST:PORT, e.g. 0.0.0.0:8080")
    return host.strip("[]") or "0.0.0.0", int(port)


_TEXT = "text/plain; charset=utf-8"


# Seconds a client may take to send a request (headers and body) or idle between requests.
READ_TIMEOUT_S = 10.0


class _Handler(BaseHTTPRequestHandler):
    server: DaemonHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http request", line=format % args)

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str = _TEXT) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _text(self, status: HTTPStatus, text: str) -> None:
        self._reply(status, (text + "\n").encode())

    def do_GET(self) -> None:
        ep = self.server.endpoints
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            ok = ep.healthy()
            self._text(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, "ok" if ok else "unhealthy")
        elif path == "/readyz":
            ok = ep.ready()
            status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
            self._text(status, "ready" if ok else "not ready")
        elif path == "/metrics":
            self._reply(HTTPStatus.OK, ep.metrics.exposition(), METRICS_CONTENT_TYPE)
        elif path == "/status":
            body = json.dumps(ep.status(), indent=2).encode()
            self._reply(HTTPStatus.OK, body, "application/json")
        else:
            self._text(HTTPStatus.NOT_FOUND, f"no such endpoint {path}")

    def do_POST(self) -> None:
        ep = self.server.endpoints
        path = self.path.split("?", 1)[0]
        provider_name = path.removeprefix("/webhooks/") if path.startswith("/webhooks/") else ""
        if ep.webhooks is None or provider_name not in {p.value for p in Provider}:
            self.close_connection = True
            self._text(HTTPStatus.NOT_FOUND, f"no such endpoint {path}")
            return
        provider = Provider(provider_name)
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self.close_connection = True
            self._text(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return
        if int(length_header) > ep.webhooks.max_body_bytes:
            self.close_connection = True  # the body is not read, so the connection cannot be reused
            ep.metrics.webhook_requests_total.labels(provider=provider.value, code="413").inc()
            self._text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload too large")
            return
        body = self.rfile.read(int(length_header))
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = ep.webhooks.handle(provider, headers, body)
        code = str(int(response.status))
        ep.metrics.webhook_requests_total.labels(provider=provider.value, code=code).inc()
        log.info("webhook", provider=provider.value, status=int(response.status), message=response.message)
        self._text(response.status, response.message)


class DaemonHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], endpoints: Endpoints, *, read_timeout_s: float = READ_TIMEOUT_S
    ) -> None:
        self.endpoints = endpoints
        # A client that stalls (slow headers or body, idle keep-alive) loses its connection
        # after this long instead of holding a server thread for ever.
        handler = type("_TimedHandler", (_Handler,), {"timeout": read_timeout_s})
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away mid-request is routine; log it instead of printing a traceback."""
        log.debug("http connection error", client=str(client_address), exc_info=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> threading.Thread:
        """Serve in a background thread; `shutdown()` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="gpuctl-http", daemon=True)
        thread.start()
        return thread
