"""Discovery documents: `/version`, `/api`, `/api/v1`, `/apis` and `/apis/{group}/{version}`,
in the legacy (unaggregated) format that kubectl and the Python client's DynamicClient read."""

from __future__ import annotations

from typing import Any

from sandbox.api.builtin import SUBRESOURCE_KINDS
from sandbox.api.resources import Registry, ResourceType

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0-gpuctl-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def version() -> dict[str, Any]:
    return dict(KUBERNETES_VERSION)


def core_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_entry(registry: Registry, group: str) -> dict[str, Any]:
    versions = registry.served_versions(group)
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_groups(registry: Registry) -> dict[str, Any]:
    groups: list[str] = []
    for group, _ in registry.group_versions():
        if group and group not in groups:
            groups.append(group)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_entry(registry, g) for g in groups]}


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    if not registry.served_versions(group):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(registry, group)}


def _resource_entry(rtype: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rtype.plural,
        "singularName": rtype.singular or rtype.kind.lower(),
        "namespaced": rtype.namespaced,
        "kind": rtype.kind,
        "verbs": list(rtype.verbs),
    }
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    return entry


def _subresource_entry(rtype: ResourceType, sub: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": f"{rtype.plural}/{sub}",
        "singularName": "",
        "namespaced": rtype.namespaced,
    }
    if sub in SUBRESOURCE_KINDS:
        group, version, kind, verbs = SUBRESOURCE_KINDS[sub]
        if group != rtype.group or kind == "Eviction":
            entry["group"], entry["version"] = group, version
        entry["kind"], entry["verbs"] = kind, list(verbs)
    else:
        entry["kind"], entry["verbs"] = rtype.kind, ["get", "patch", "update"]
    return entry


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.resources(group, version)
    if not types:
        return None
    resources = []
    for rtype in sorted(types, key=lambda t: t.plural):
        resources.append(_resource_entry(rtype))
        resources += [_subresource_entry(rtype, sub) for sub in rtype.subresources]
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
