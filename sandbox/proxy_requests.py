"""What the fault proxy needs to know of a request without asking the server: its Kubernetes
verb (get, list, watch, create, update, patch, delete, deletecollection), whether it is
discovery (never faulted, as in the sandbox), and the log entry of a mutating request."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OPEN_PATHS = ("/version", "/healthz", "/readyz", "/livez", "/openapi", "/metrics")


@dataclass(frozen=True)
class Route:
    path: str
    query: str
    verb: str
    discovery: bool


def route(method: str, target: str) -> Route:
    """The verb of `method` on `target` (path and query), read from the URL's shape:
    `/api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]` and the same under `/apis/G/V`."""
    parts = urlsplit(target)
    path, query = parts.path, parts.query
    params = dict(parse_qsl(query))
    segments = [s for s in path.split("/") if s]
    if path.startswith(_OPEN_PATHS) or not segments:
        return Route(path, query, "get", True)
    prefix = 2 if segments[0] == "api" else 3 if segments[0] == "apis" else 0
    rest = segments[prefix:] if prefix else []
    if not rest:  # /api, /api/v1, /apis, /apis/G, /apis/G/V, or a path the server does not serve
        return Route(path, query, "get", True)
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    named = len(rest) >= 2
    return Route(path, query, _verb(method, named, params), False)


def _verb(method: str, named: bool, params: dict[str, str]) -> str:
    if method == "GET":
        if params.get("watch") in ("true", "1"):
            return "watch"
        return "get" if named else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return method.lower()


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the proxy saw it: `status` 0 when it got no answer (reset or hung),
    `fault` the fault injected (None: forwarded to the server, whose answer `status` is)."""

    at: float
    method: str
    path: str
    query: str
    user_agent: str
    status: int
    fault: str | None = None

    @property
    def mutating(self) -> bool:
        return self.method in MUTATING

    @property
    def dry_run(self) -> bool:
        return dict(parse_qsl(self.query)).get("dryRun") == "All"

    @property
    def written(self) -> bool:
        """A write the server accepted (2xx, not a dry run)."""
        return self.mutating and not self.dry_run and self.fault is None and 200 <= self.status < 300

    def answered(self, status: int, fault: str | None) -> LoggedRequest:
        return replace(self, status=status, fault=fault)
