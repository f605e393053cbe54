"""Webhook hardening beyond the daemon's HTTP tests (tests/daemon/test_http.py covers HMAC,
413, duplicates and 429): a stalled client loses its connection instead of holding a server
thread, an unauthenticated delivery cannot poison the duplicate-delivery memory, and the
webhook secret appears in no response or log line."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.server import DaemonHTTPServer, Endpoints
from reconciler.daemon.webhooks import Provider, TokenBucket, WebhookReceiver, sign

SECRET = b"webhook-secret-SENTINEL-7f3a"
PUSH = json.dumps({"ref": "refs/heads/main"}).encode()


@pytest.fixture
def served() -> Iterator[tuple[DaemonHTTPServer, list[Provider]]]:
    pushes: list[Provider] = []
    receiver = WebhookReceiver(SECRET, pushes.append, branch="main", max_body_bytes=4096,
                               rate_limit=TokenBucket(rate_per_s=100.0, burst=100))  # fmt: skip
    endpoints = Endpoints(metrics=DaemonMetrics(), healthy=lambda: True, ready=lambda: True,
                          status=lambda: {"last": None, "history": []}, webhooks=receiver)  # fmt: skip
    server = DaemonHTTPServer(("127.0.0.1", 0), endpoints, read_timeout_s=0.5)
    server.start()
    yield server, pushes
    server.shutdown()
    server.server_close()


def post(server: DaemonHTTPServer, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/webhooks/github", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_stalled_body_loses_its_connection(served) -> None:
    """A client that announces a body and never sends it is disconnected by the server, and
    other deliveries are still served."""
    server, pushes = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as stalled:
        stalled.sendall(b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"ref\"")
        assert stalled.recv(1024) == b""  # closed by the server, nothing answered
    headers = {"X-Hub-Signature-256": sign(SECRET, PUSH), "X-GitHub-Delivery": "after-stall"}
    assert post(server, PUSH, headers)[0] == 202
    assert pushes == [Provider.GITHUB]


def test_idle_keep_alive_connection_is_closed(served) -> None:
    """A connection that sends nothing is closed rather than kept open for ever."""
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as idle:
        assert idle.recv(1024) == b""


def test_unsigned_delivery_cannot_poison_the_duplicate_memory(served) -> None:
    """A forged delivery reusing a future delivery ID is refused and does not make the
    genuine delivery with that ID look like a duplicate."""
    server, pushes = served
    forged = {"X-Hub-Signature-256": sign(b"guess", PUSH), "X-GitHub-Delivery": "future-id"}
    assert post(server, PUSH, forged)[0] == 401
    genuine = {"X-Hub-Signature-256": sign(SECRET, PUSH), "X-GitHub-Delivery": "future-id"}
    assert post(server, PUSH, genuine)[0] == 202
    assert pushes == [Provider.GITHUB]


def test_secret_is_in_no_response_or_log(served) -> None:
    """Neither answers nor log lines of good and bad deliveries contain the secret."""
    server, _ = served
    answers = []
    with capture_logs() as logs:
        for signature in (sign(SECRET, PUSH), sign(b"wrong", PUSH), "sha256=zz", ""):
            headers = {"X-Hub-Signature-256": signature} if signature else {}
            answers.append(post(server, PUSH, headers)[1])
    secret = SECRET.decode()
    assert all(secret not in answer.decode() for answer in answers)
    assert logs and all(secret not in repr(entry) for entry in logs)
