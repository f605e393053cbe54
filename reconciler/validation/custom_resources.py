"""Custom resources whose CustomResourceDefinition is in the repository are checked against
that CRD's `openAPIV3Schema`, the way the API server does with kubectl's default strict
field validation: unknown fields are errors unless the schema preserves them
(`x-kubernetes-preserve-unknown-fields`), and `x-kubernetes-int-or-string` admits both.
"""

from __future__ import annotations

from typing import Any

from reconciler.validation.context import Context
from reconciler.validation.schema_errors import schema_error_diagnostics
from schemas.diagnostics import Diagnostic

RULE = "crd-schema"
_CRD_GROUP = "apiextensions.k8s.io"
_ROOT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


def strict_schema(node: Any) -> Any:
    """The CRD schema as a JSON Schema that rejects fields the API server would reject."""
    if isinstance(node, list):
        return [strict_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: strict_schema(value) for key, value in node.items() if key != "description"}
    if node.get("x-kubernetes-int-or-string"):
        result.pop("type", None)
        result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(result.get("type"), str):
        result["type"] = [result["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in node and "additionalProperties" not in node and not preserve:
        result["additionalProperties"] = False
    return result


def _validators(context: Context) -> dict[tuple[str, str, str], tuple[Any, str]]:
    """(group, version, kind) → (validator, CRD name) for every CRD version with a schema."""
    import jsonschema

    found: dict[tuple[str, str, str], tuple[Any, str]] = {}
    for crd in context.kind("CustomResourceDefinition", _CRD_GROUP):
        spec = crd.obj.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("names"), dict):
            continue
        group, kind = spec.get("group"), spec["names"].get("kind")
        for version in spec.get("versions") or []:
            schema = (
                ((version or {}).get("schema") or {}).get("openAPIV3Schema")
                if isinstance(version, dict)
                else None
            )
            if not isinstance(schema, dict) or not isinstance(group, str) or not isinstance(kind, str):
                continue
            root = strict_schema(schema)
            root.setdefault("properties", {})
            for field, field_schema in _ROOT_FIELDS.items():
                root["properties"].setdefault(field, field_schema)
            found[(group, str(version.get("name")), kind)] = (jsonschema.Draft7Validator(root), crd.ref.name)
    return found


def check_custom_resources(context: Context) -> list[Diagnostic]:
    validators = _validators(context)
    if not validators:
        return []
    findings: list[Diagnostic] = []
    for manifest in context.state.manifests:
        api_version = str(manifest.obj.get("apiVersion"))
        version = api_version.rsplit("/", 1)[-1]
        entry = validators.get((manifest.ref.group, version, manifest.ref.kind))
        if entry is None:
            continue
        validator, crd_name = entry
        subject = f"{manifest.ref} (schema of CRD {crd_name})"
        for error in validator.iter_errors(manifest.obj):
            findings.extend(schema_error_diagnostics(manifest, error, subject, RULE))
    return findings
