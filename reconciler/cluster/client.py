"""`KubeClusterClient`: the one implementation of `ClusterClient` for real API servers (and
the sandbox). Kinds are resolved through the discovery API (kubernetes' DynamicClient
discoverer, cached per process); requests are raw JSON over the client's transport, so a LIST
of thousands of objects is decoded once, never wrapped object by object.

Writes: server-side apply with field manager `gpuctl` (forcing conflicts, as Flux does),
optional server dry-run, JSON merge patches of Nodes, deletes, evictions.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

from reconciler.cluster.connection import ConnectionSpec, api_client_for, origin_of
from reconciler.cluster.errortext import parse_status
from reconciler.cluster.retrying import RETRYABLE_STATUSES, ApiStatusError, RetryPolicy, call_with_retries
from reconciler.cluster.unreachable import ApiUnreachableError, unreachable
from reconciler.errors import NotFoundError, TerminalError
from reconciler.protocols import KubeObject
from schemas.refs import ObjectRef

FIELD_MANAGER = "gpuctl"
LIST_PAGE_SIZE = 500
MISSING_KIND_TTL = 1.0
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)


class KindInfo:
    """Where a kind lives in the API: its collection path and whether it is namespaced."""

    __slots__ = ("api_version", "kind", "namespaced", "plural")

    def __init__(self, api_version: str, kind: str, plural: str, namespaced: bool) -> None:
        self.api_version = api_version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced

    def path(self, namespace: str = "", name: str = "") -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


class KubeClusterClient:
    """ClusterClient over the Kubernetes REST API; counts the requests it makes by verb."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        retry: RetryPolicy | None = None,
        request_timeout: float = 30.0,
        seed: int | None = None,
        origin: str = "",
    ) -> None:
        self._api = api_client
        # Named in the error when the server cannot be reached: `kubeconfig K, context C`.
        self._origin = origin
        self._retry = retry or RetryPolicy()
        self._timeout = request_timeout
        self._rng = random.Random(seed)
        self._kinds: dict[tuple[str, str], KindInfo] = {}
        # Kinds found missing, with when: each miss re-reads discovery, so misses are
        # remembered briefly (a CRD being established shows up within this delay).
        self._missing: dict[tuple[str, str], float] = {}
        self._cache_dir = tempfile.TemporaryDirectory(prefix="gpuctl-discovery-")
        self._dynamic: DynamicClient | None = None
        self.requests: dict[str, int] = {}
        # Write requests sent (dry runs excluded): what a real server, whose own counters also
        # hold every kubelet's heartbeat, cannot tell apart.
        self.writes = 0

    @classmethod
    def connect(cls, spec: ConnectionSpec) -> KubeClusterClient:
        return cls(api_client_for(spec), request_timeout=spec.request_timeout, origin=origin_of(spec))

    def _unreachable(self, exc: BaseException) -> ApiUnreachableError | None:
        return unreachable(exc, str(self._api.configuration.host), self._origin)

    @property
    def server(self) -> str:
        """The API server URL this client talks to."""
        return str(self._api.configuration.host)

    def close(self) -> None:
        self._api.close()
        self._cache_dir.cleanup()

    # ------------------------------------------------------------------ discovery

    def _discovery(self) -> DynamicClient:
        if self._dynamic is None:
            cache = str(Path(self._cache_dir.name) / "discovery.json")
            self._dynamic = call_with_retries(
                lambda: DynamicClient(self._api, cache_file=cache),
                ref=None,
                verb="discovery",
                policy=self._retry,
                sleep=time.sleep,
                rng=self._rng,
                connection_errors=_CONNECTION_ERRORS,
                unreachable=self._unreachable,
            )
        return self._dynamic

    def kind_info(self, api_version: str, kind: str) -> KindInfo:
        """The served kind; TerminalError when the server does not know it."""
        key = (api_version, kind)
        info = self._kinds.get(key)
        if info is None:
            missing_since = self._missing.get(key)
            if missing_since is not None and time.monotonic() - missing_since < MISSING_KIND_TTL:
                raise TerminalError(f"the API server does not serve {kind} in {api_version}")
            try:
                resource = self._discovery().resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError as exc:
                self._missing[key] = time.monotonic()
                raise TerminalError(f"the API server does not serve {kind} in {api_version}") from exc
            except ResourceNotUniqueError as exc:
                matches = self._discovery().resources.search(api_version=api_version, kind=kind)
                names = sorted(f"{m.name}.{m.group}" if m.group else str(m.name) for m in matches)
                raise TerminalError(_ambiguous(api_version, kind, names)) from exc
            self._missing.pop(key, None)
            info = KindInfo(api_version, kind, str(resource.name), bool(resource.namespaced))
            self._kinds[key] = info
        return info

    def has_kind(self, api_version: str, kind: str) -> bool:
        try:
            self.kind_info(api_version, kind)
        except TerminalError:
            return False
        return True

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        return self.kind_info(api_version, kind).namespaced

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        self.requests[method] = self.requests.get(method, 0) + 1
        if method in _WRITE_METHODS and ("dryRun", "All") not in (query or []):
            self.writes += 1
        serialized = self._api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(*serialized, _request_timeout=self._timeout)
        data = response.read()
        if not 200 <= response.status < 300:
            info = parse_status(data)
            raise ApiStatusError(
                response.status,
                info.message,
                _retry_after(response.getheader),
                _status_causes(data),
                info=info,
            )
        return json.loads(data) if data else None

    def _call(self, ref: ObjectRef | None, verb: str, method: str, path: str, **kwargs: Any) -> Any:
        return call_with_retries(
            lambda: self._request(method, path, **kwargs),
            ref=ref,
            verb=verb,
            policy=self._retry,
            sleep=time.sleep,
            rng=self._rng,
            connection_errors=_CONNECTION_ERRORS,
            unreachable=self._unreachable,
        )

    # ------------------------------------------------------------------ reads

    def list_objects(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[KubeObject]:
        info = self.kind_info(api_version, kind)
        path = info.path(namespace or "")
        items: list[KubeObject] = []
        token = ""
        while True:
            query = [("limit", str(LIST_PAGE_SIZE))]
            if token:
                query.append(("continue", token))
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            page = self._call(None, f"list {kind}", "GET", path, query=query)
            for item in page.get("items") or []:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> KubeObject | None:
        info = self.kind_info(api_version, kind)
        ref = ObjectRef(_group(api_version), kind, namespace, name)
        try:
            obj: KubeObject = self._call(ref, "get", "GET", info.path(namespace, name))
        except NotFoundError:
            return None
        return obj

    def namespaced_kinds(self) -> list[tuple[str, str]]:
        """Every listable namespaced (apiVersion, kind) the server serves (preferred versions)."""
        versions = ["v1"]
        groups = self._call(None, "discovery", "GET", "/apis")
        for group in groups.get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            if preferred:
                versions.append(str(preferred))
        kinds = []
        for version in versions:
            path = "/api/v1" if version == "v1" else f"/apis/{version}"
            listing = self._call(None, "discovery", "GET", path)
            for resource in listing.get("resources") or []:
                name = str(resource.get("name") or "")
                listable = "list" in (resource.get("verbs") or [])
                if "/" in name or not resource.get("namespaced") or not listable:
                    continue
                kinds.append((version, str(resource["kind"])))
                self._kinds.setdefault(
                    (version, str(resource["kind"])), KindInfo(version, str(resource["kind"]), name, True)
                )
        return kinds

    def list_namespace(self, namespace: str) -> list[KubeObject]:
        """Every object in `namespace`, of every namespaced kind the server serves."""
        objects: list[KubeObject] = []
        for api_version, kind in self.namespaced_kinds():
            objects.extend(self.list_objects(api_version, kind, namespace=namespace))
        return objects

    # ------------------------------------------------------------------ writes

    def apply(self, obj: KubeObject, *, dry_run: bool = False) -> KubeObject:
        ref = ObjectRef.of(obj)
        info = self.kind_info(str(obj["apiVersion"]), str(obj["kind"]))
        query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        path = info.path(ref.namespace, ref.name)
        verb = "server-side apply (dry-run)" if dry_run else "server-side apply"
        result: KubeObject = self._call(
            ref, verb, "PATCH", path, query=query, body=obj, content_type="application/apply-patch+yaml"
        )
        if ref.kind == "CustomResourceDefinition" and not dry_run:
            self._missing.clear()  # the kinds it defines may be served from now on
        return result

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "") -> bool:
        info = self.kind_info(api_version, kind)
        ref = ObjectRef(_group(api_version), kind, namespace, name)
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        try:
            self._call(ref, "delete", "DELETE", info.path(namespace, name), body=body)
        except NotFoundError:
            return False
        return True

    def patch_node(self, name: str, patch: KubeObject) -> KubeObject:
        info = self.kind_info("v1", "Node")
        ref = ObjectRef("", "Node", "", name)
        query = [("fieldManager", FIELD_MANAGER)]
        result: KubeObject = self._call(
            ref, "patch", "PATCH", info.path("", name), query=query, body=patch,
            content_type="application/merge-patch+json",
        )
        return result

    def evict(self, namespace: str, name: str) -> bool:
        return self.evict_explained(namespace, name) is None

    def evict_explained(self, namespace: str, name: str) -> str | None:
        """Evict the pod; None when it is gone, else why not now (a PDB's 429 with its causes,
        a 5xx, the API unreachable). Terminal refusals raise TerminalError."""
        ref = ObjectRef("", "Pod", namespace, name)
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
        }
        path = f"/api/v1/namespaces/{namespace}/pods/{name}/eviction"
        try:
            # No retry loop here: the rollout retries evictions on its own schedule until its
            # drain timeout.
            self._request("POST", path, body=body)
        except ApiStatusError as exc:
            if exc.status in RETRYABLE_STATUSES:  # 429: a PDB refuses now; 5xx: try again later
                return " ".join((exc.message, *exc.causes)).strip() or f"HTTP {exc.status}"
            if exc.status == 404:
                return None
            raise TerminalError(f"eviction failed: {exc}", ref) from exc
        except _CONNECTION_ERRORS as exc:
            said = self._unreachable(exc)
            return str(said) if said else f"the API server is unreachable: {type(exc).__name__}"
        return None


def _ambiguous(api_version: str, kind: str, resources: list[str]) -> str:
    """The error for a kind that several served resources claim (an API server that does not
    refuse such CRDs): name them, and what to do."""
    which = " and ".join(resources) if resources else "more than one resource"
    return (
        f"kind {kind} in {api_version} is ambiguous: {which} all serve it; delete the "
        "CustomResourceDefinition that should not define it, or give it another kind"
    )


def _status_causes(data: bytes | None) -> tuple[str, ...]:
    """The messages of a Status's `details.causes` (empty when there are none)."""
    try:
        status = json.loads(data) if data else None
    except ValueError:
        return ()
    details = status.get("details") if isinstance(status, dict) else None
    causes = details.get("causes") if isinstance(details, dict) else None
    if not isinstance(causes, list):
        return ()
    return tuple(str(c["message"]) for c in causes if isinstance(c, dict) and c.get("message"))


def _retry_after(getheader: Any) -> float | None:
    value = getheader("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""
