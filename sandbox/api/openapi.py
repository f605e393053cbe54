"""A minimal OpenAPI v3 description, generated from the served types: one document per
group/version listing each object path with its GroupVersionKind and the query parameters
it accepts. kubectl reads it to learn that the server validates fields itself
(`fieldValidation`), which `kubectl apply --server-side` requires before it sends anything.
Schemas are not described (`components.schemas` is empty)."""

from __future__ import annotations

from typing import Any

from sandbox.api.resources import Registry

_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def root(registry: Registry) -> dict[str, Any]:
    """`/openapi/v3`: where each group/version's document is."""
    return {
        "paths": {
            _gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}"}
            for g, v in registry.group_versions()
        }
    }


def _params(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in names]


def group_version(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """`/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`."""
    types = registry.resources(group, version)
    if not types:
        return None
    prefix = "/" + _gv_path(group, version)
    paths: dict[str, Any] = {}
    for rtype in types:
        gvk = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
        base = (
            f"{prefix}/namespaces/{{namespace}}/{rtype.plural}"
            if rtype.namespaced
            else f"{prefix}/{rtype.plural}"
        )

        def operation(action: str, params: tuple[str, ...], gvk: dict[str, str] = gvk) -> dict[str, Any]:
            return {
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": _params(params),
                "responses": {"200": {"description": "OK"}},
            }

        paths[base] = {
            "get": operation("list", ("labelSelector", "fieldSelector", "limit", "continue", "watch")),
            "post": operation("post", _WRITE_PARAMS),
        }
        paths[f"{base}/{{name}}"] = {
            "get": operation("get", ()),
            "put": operation("put", _WRITE_PARAMS),
            "patch": operation("patch", (*_WRITE_PARAMS, "force")),
            "delete": operation("delete", ("dryRun", "gracePeriodSeconds", "propagationPolicy")),
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }
