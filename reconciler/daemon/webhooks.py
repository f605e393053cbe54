"""Webhook receiver logic, independent of the HTTP server: signature checks for GitHub
(`X-Hub-Signature-256`), GitLab (`X-Gitlab-Token`) and a generic HMAC endpoint
(`X-Signature: sha256=<hex>`, as Flux's generic-hmac receiver), all compared in constant
time; duplicate delivery IDs ignored; a token-bucket rate limit; pushes to other branches
ignored. `WebhookReceiver.handle` turns one request into an HTTP status and a message."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    GENERIC = "generic"


@dataclass(frozen=True)
class WebhookResponse:
    status: HTTPStatus
    message: str
    triggered: bool = False


def _hmac_sha256_hex(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes) -> str:
    """The `sha256=<hex>` signature GitHub and the generic endpoint expect for `body`."""
    return "sha256=" + _hmac_sha256_hex(secret, body)


def signature_valid(provider: Provider, secret: bytes, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the request carries a correct signature or token for `provider`."""
    if provider is Provider.GITLAB:
        token = headers.get("x-gitlab-token", "")
        return hmac.compare_digest(token.encode(), secret)
    header = "x-hub-signature-256" if provider is Provider.GITHUB else "x-signature"
    given = headers.get(header, "")
    return hmac.compare_digest(given.encode(), sign(secret, body).encode())


def delivery_id(provider: Provider, headers: Mapping[str, str]) -> str | None:
    """The sender's ID of this delivery (redeliveries reuse it), if it sent one."""
    names = {
        Provider.GITHUB: ("x-github-delivery",),
        Provider.GITLAB: ("idempotency-key", "x-gitlab-event-uuid"),
        Provider.GENERIC: ("x-delivery-id",),
    }[provider]
    for name in names:
        if headers.get(name):
            return headers[name]
    return None


def pushed_branch(body: bytes) -> str | None:
    """The branch a GitHub/GitLab push payload names (`ref: refs/heads/B`), if any."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    return None


class TokenBucket:
    """At most `rate_per_s` requests per second on average, bursts up to `burst`."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate_per_s
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class RecentIds:
    """The last `capacity` delivery IDs seen, to drop redeliveries."""

    def __init__(self, capacity: int = 1024) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def seen_before(self, key: str) -> bool:
        """True if `key` was already recorded; records it otherwise."""
        with self._lock:
            if key in self._ids:
                self._ids.move_to_end(key)
                return True
            self._ids[key] = None
            if len(self._ids) > self._capacity:
                self._ids.popitem(last=False)
            return False


class WebhookReceiver:
    """Authenticates webhook deliveries and calls `on_push` for the ones that count."""

    def __init__(
        self,
        secret: bytes,
        on_push: Callable[[Provider], None],
        *,
        branch: str | None,
        max_body_bytes: int = 1 << 20,
        rate_limit: TokenBucket | None = None,
    ) -> None:
        if not secret:
            raise ValueError("a webhook secret is required to receive webhooks")
        self._secret = secret
        self._on_push = on_push
        self._branch = branch
        self.max_body_bytes = max_body_bytes
        self._bucket = rate_limit or TokenBucket(rate_per_s=5.0, burst=20)
        self._seen = RecentIds()

    def handle(self, provider: Provider, headers: Mapping[str, str], body: bytes) -> WebhookResponse:
        """Decide on one delivery. `headers` must have lower-case names."""
        if len(body) > self.max_body_bytes:
            return WebhookResponse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload too large")
        if not signature_valid(provider, self._secret, headers, body):
            return WebhookResponse(HTTPStatus.UNAUTHORIZED, "bad or missing signature")
        if not self._bucket.allow():
            return WebhookResponse(HTTPStatus.TOO_MANY_REQUESTS, "rate limit exceeded, retry later")
        delivery = delivery_id(provider, headers)
        if delivery is not None and self._seen.seen_before(f"{provider}:{delivery}"):
            return WebhookResponse(HTTPStatus.OK, f"duplicate delivery {delivery} ignored")
        event = headers.get("x-github-event", "")
        if provider is Provider.GITHUB and event == "ping":
            return WebhookResponse(HTTPStatus.OK, "pong")
        branch = pushed_branch(body) if provider is not Provider.GENERIC else None
        if branch is not None and self._branch is not None and branch != self._branch:
            message = f"push to {branch!r} ignored (watching {self._branch!r})"
            return WebhookResponse(HTTPStatus.ACCEPTED, message)
        self._on_push(provider)
        return WebhookResponse(HTTPStatus.ACCEPTED, "fetch requested", triggered=True)
