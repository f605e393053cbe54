"""URL → (resource type, namespace, name, subresource), following the API server's paths:
`/api/v1/...` for the core group and `/apis/{group}/{version}/...` for the others, with
`namespaces/{ns}/` for namespaced objects."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.api import errors
from sandbox.api.resources import Registry, ResourceType


@dataclass(frozen=True)
class Route:
    rtype: ResourceType
    namespace: str
    name: str
    subresource: str


def route(registry: Registry, path: str) -> Route:
    """Resolve a resource path; 404 `NotFound` Status for anything the sandbox does not serve."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise errors.path_not_found(path)
    if not rest:
        raise errors.path_not_found(path)

    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns_type = registry.lookup(group, version, "namespaces")
        is_namespace_sub = ns_type is not None and len(rest) == 3 and rest[2] in ns_type.subresources
        if not is_namespace_sub:
            namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    rtype = registry.lookup(group, version, plural)
    if rtype is None:
        raise errors.path_not_found(path)
    if namespace and not rtype.namespaced:
        raise errors.path_not_found(path)
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3 or (subresource and subresource not in rtype.subresources):
        raise errors.path_not_found(path)
    return Route(rtype, namespace, name, subresource)
