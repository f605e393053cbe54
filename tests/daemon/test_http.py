"""The daemon's HTTP endpoints over real HTTP on 127.0.0.1: webhook signatures (GitHub,
GitLab, generic HMAC), size limit, duplicate deliveries, rate limit, health and metrics."""

import http.client
import json
from collections.abc import Iterator

import pytest

from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.server import DaemonHTTPServer, Endpoints, parse_listen
from reconciler.daemon.webhooks import Provider, TokenBucket, WebhookReceiver, sign

SECRET = b"s3cret"
PUSH_MAIN = json.dumps({"ref": "refs/heads/main", "after": "abc"}).encode()


class Daemonish:
    def __init__(self) -> None:
        self.pushes: list[Provider] = []
        self.ready = False


@pytest.fixture
def served() -> Iterator[tuple[DaemonHTTPServer, Daemonish]]:
    state = Daemonish()
    receiver = WebhookReceiver(
        SECRET, state.pushes.append, branch="main", max_body_bytes=4096,
        rate_limit=TokenBucket(rate_per_s=0.001, burst=8),
    )
    endpoints = Endpoints(
        metrics=DaemonMetrics(), healthy=lambda: True, ready=lambda: state.ready,
        status=lambda: {"last": None, "history": []}, webhooks=receiver,
    )
    server = DaemonHTTPServer(("127.0.0.1", 0), endpoints)
    server.start()
    yield server, state
    server.shutdown()
    server.server_close()


def request(server: DaemonHTTPServer, method: str, path: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body if method == "POST" else None, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_github_push_with_a_valid_signature_triggers_a_fetch(served):
    """A correctly signed GitHub push to the watched branch is accepted and triggers."""
    server, state = served
    status, _ = request(server, "POST", "/webhooks/github", PUSH_MAIN, {
        "X-Hub-Signature-256": sign(SECRET, PUSH_MAIN), "X-GitHub-Event": "push", "X-GitHub-Delivery": "d1"})
    assert status == 202
    assert state.pushes == [Provider.GITHUB]


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, sign(b"other", PUSH_MAIN)])
def test_github_push_with_a_bad_signature_is_rejected(served, signature):
    """A missing, wrong or foreign-key signature gets 401 and triggers nothing."""
    server, state = served
    headers = {"X-Hub-Signature-256": signature} if signature else {}
    status, _ = request(server, "POST", "/webhooks/github", PUSH_MAIN, headers)
    assert status == 401
    assert state.pushes == []


def test_gitlab_token_is_checked(served):
    """GitLab deliveries need the shared token in X-Gitlab-Token."""
    server, state = served
    assert request(server, "POST", "/webhooks/gitlab", PUSH_MAIN, {"X-Gitlab-Token": "nope"})[0] == 401
    assert request(server, "POST", "/webhooks/gitlab", PUSH_MAIN, {"X-Gitlab-Token": "s3cret"})[0] == 202
    assert state.pushes == [Provider.GITLAB]


def test_generic_hmac_endpoint(served):
    """The generic endpoint accepts an HMAC-SHA256 of the body in X-Signature."""
    server, state = served
    body = b'{"anything": true}'
    assert request(server, "POST", "/webhooks/generic", body, {"X-Signature": sign(SECRET, b"x")})[0] == 401
    assert request(server, "POST", "/webhooks/generic", body, {"X-Signature": sign(SECRET, body)})[0] == 202
    assert state.pushes == [Provider.GENERIC]


def test_oversized_payload_is_refused_with_413(served):
    """A body above the limit is refused before it is read or checked."""
    server, state = served
    body = b"x" * 5000
    status, _ = request(server, "POST", "/webhooks/github", body, {"X-Hub-Signature-256": sign(SECRET, body)})
    assert status == 413
    assert state.pushes == []


def test_duplicate_delivery_ids_are_ignored(served):
    """A redelivery with the same ID is answered 200 but triggers nothing more."""
    server, state = served
    headers = {"X-Hub-Signature-256": sign(SECRET, PUSH_MAIN), "X-GitHub-Delivery": "same-id"}
    assert request(server, "POST", "/webhooks/github", PUSH_MAIN, headers)[0] == 202
    status, body = request(server, "POST", "/webhooks/github", PUSH_MAIN, headers)
    assert status == 200 and b"duplicate" in body
    assert state.pushes == [Provider.GITHUB]


def test_push_to_another_branch_is_ignored(served):
    """A push event for a branch the daemon does not follow triggers nothing."""
    server, state = served
    body = json.dumps({"ref": "refs/heads/feature"}).encode()
    status, _ = request(server, "POST", "/webhooks/github", body, {"X-Hub-Signature-256": sign(SECRET, body)})
    assert status == 202
    assert state.pushes == []


def test_rate_limit_answers_429(served):
    """Past the burst allowance, authenticated deliveries get 429 until tokens refill."""
    server, state = served
    codes = []
    for n in range(10):
        headers = {"X-Hub-Signature-256": sign(SECRET, PUSH_MAIN), "X-GitHub-Delivery": f"id{n}"}
        codes.append(request(server, "POST", "/webhooks/github", PUSH_MAIN, headers)[0])
    assert codes == [202] * 8 + [429, 429]
    assert len(state.pushes) == 8


def test_health_readiness_and_metrics(served):
    """/healthz is up, /readyz follows readiness, /metrics lists the daemon's metric names."""
    server, state = served
    assert request(server, "GET", "/healthz")[0] == 200
    assert request(server, "GET", "/readyz")[0] == 503
    state.ready = True
    assert request(server, "GET", "/readyz")[0] == 200
    request(server, "POST", "/webhooks/github", PUSH_MAIN, {"X-Hub-Signature-256": "bad"})
    status, body = request(server, "GET", "/metrics")
    assert status == 200
    text = body.decode()
    for name in ("gpuctl_reconcile_duration_seconds", "gpuctl_reconcile_total", "gpuctl_changes_total",
                 "gpuctl_drift_corrections_total", "gpuctl_revision_info", "gpuctl_rollout_nodes",
                 "gpuctl_git_fetch_duration_seconds", "gpuctl_leader"):
        assert f"# TYPE {name}" in text
    assert 'gpuctl_webhook_requests_total{code="401",provider="github"} 1.0' in text
    assert request(server, "GET", "/nope")[0] == 404


@pytest.mark.parametrize(("text", "expected"), [
    ("0.0.0.0:8080", ("0.0.0.0", 8080)), (":9000", ("0.0.0.0", 9000)), ("[::1]:80", ("::1", 80))])
def test_listen_addresses_parse(text, expected):
    """HOST:PORT, :PORT and bracketed IPv6 addresses are accepted."""
    assert parse_listen(text) == expected


def test_bad_listen_address_says_what_is_expected():
    """A listen address without a port is an error naming the expected form."""
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen("localhost")
