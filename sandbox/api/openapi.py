"""Minimal OpenAPI descriptions, generated from the served types.

v3: one document per group/version listing each object path with its GroupVersionKind and
the query parameters it accepts. kubectl ≥ 1.27 reads it to learn that the server validates
fields itself (`fieldValidation`) before `kubectl apply --server-side` sends anything.

v2: a document without definitions, in JSON or in the gnostic protobuf kubectl asks for.
Older kubectl (Debian's 1.20) downloads it for client-side validation and skips kinds it
has no schema for. Schemas are described in neither (`components.schemas`/`definitions`
are empty)."""

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


V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
_V2_TITLE, _V2_VERSION = "Kubernetes", "v1.33.0"


def v2_json() -> dict[str, Any]:
    return {
        "swagger": "2.0",
        "info": {"title": _V2_TITLE, "version": _V2_VERSION},
        "paths": {},
        "definitions": {},
    }


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2); payloads here are < 128 bytes."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def v2_protobuf() -> bytes:
    """The same document as gnostic's `openapi_v2.Document`: swagger (1) and info (2: title 1,
    version 2)."""
    info = _field(1, _V2_TITLE.encode()) + _field(2, _V2_VERSION.encode())
    return _field(1, b"2.0") + _field(2, info)
