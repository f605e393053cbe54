"""The non-resource paths: `/version`, discovery (`/api`, `/api/v1`, `/apis`,
`/apis/{group}[/{version}]`) and OpenAPI (`/openapi/v2`, `/openapi/v3[/...]`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.api import discovery, errors, openapi
from sandbox.api.resources import Registry


@dataclass(frozen=True)
class RawDocument:
    """A document that is not JSON (the protobuf OpenAPI v2 document)."""

    body: bytes
    content_type: str


def meta_document(
    registry: Registry, path: str, accept: str, address: str
) -> dict[str, Any] | RawDocument | None:
    """The document at `path`, None when `path` is a resource path; 404 for unknown meta paths."""
    path = path.rstrip("/") or "/"
    if path == "/version":
        return discovery.version()
    if path == "/api":
        return discovery.core_versions(address)
    if path == "/apis":
        return discovery.api_groups(registry)
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["openapi", "v3"]:
        return _openapi_v3(registry, parts[2:], path)
    if parts == ["openapi", "v2"]:
        if openapi.V2_PROTOBUF in accept:
            return RawDocument(openapi.v2_protobuf(), "application/octet-stream")  # as kube-openapi
        return openapi.v2_json()
    found: dict[str, Any] | None = None
    if parts == ["api", "v1"]:
        found = discovery.resource_list(registry, "", "v1")
    elif len(parts) == 2 and parts[0] == "apis":
        found = discovery.api_group(registry, parts[1])
        if found is None:
            raise errors.path_not_found(path)
    elif len(parts) == 3 and parts[0] == "apis":
        found = discovery.resource_list(registry, parts[1], parts[2])
        if found is None:
            raise errors.path_not_found(path)
    elif parts and parts[0] not in ("api", "apis"):
        raise errors.path_not_found(path)
    return found


def _openapi_v3(registry: Registry, parts: list[str], path: str) -> dict[str, Any]:
    if not parts:
        return openapi.root(registry)
    found = None
    if parts[0] == "api" and len(parts) == 2:
        found = openapi.group_version(registry, "", parts[1])
    elif parts[0] == "apis" and len(parts) == 3:
        found = openapi.group_version(registry, parts[1], parts[2])
    if found is None:
        raise errors.path_not_found(path)
    return found
