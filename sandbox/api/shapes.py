"""Type checks of the fields the sandbox reads, before anything else looks at a body.

The API server decodes built-in kinds into typed structs, so a list where a map belongs is a
400 before validation even starts; these checks give the same answer, in the same words, for
the fields the sandbox and its controllers use (metadata, Pod scheduling fields, Node taints,
PodDisruptionBudget budgets, CRD names and versions, ConfigMap data)."""

from __future__ import annotations

import re
from typing import Any

from sandbox.api import errors
from sandbox.api.resources import ResourceType

_GO_NAMES = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}
_PERCENT = re.compile(r"^[0-9]+%$")


class _Checker:
    def __init__(self, rtype: ResourceType) -> None:
        self.rtype = rtype

    def fail(self, value: Any, path: str, want: str) -> None:
        got = "null" if value is None else _GO_NAMES.get(type(value), type(value).__name__)
        kind, version = self.rtype.kind, self.rtype.api_version
        raise errors.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: json: cannot unmarshal {got} '
            f"into Go struct field {path} of type {want}"
        )

    def map_of_str(self, value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.fail(value, path, "map[string]string")
        for item in value.values():
            if not isinstance(item, str):
                self.fail(item, path, "string")

    def typed(self, value: Any, path: str, want: type | tuple[type, ...], go_name: str) -> None:
        if value is not None and (
            not isinstance(value, want)
            or (isinstance(value, bool) and bool not in (want if isinstance(want, tuple) else (want,)))
        ):
            self.fail(value, path, go_name)

    def list_of_objects(self, value: Any, path: str, go_name: str) -> list[dict[str, Any]]:
        self.typed(value, path, list, f"[]{go_name}")
        for item in value or []:
            self.typed(item, path, dict, go_name)
        return list(value or [])


def check(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """400 BadRequest when a field the sandbox reads has the wrong JSON type."""
    c = _Checker(rtype)
    meta = obj.get("metadata")
    c.typed(meta, "Object.metadata", dict, "v1.ObjectMeta")
    meta = meta or {}
    for key in ("name", "generateName", "namespace", "resourceVersion", "uid"):
        c.typed(meta.get(key), f"ObjectMeta.metadata.{key}", str, "string")
    c.map_of_str(meta.get("labels"), "ObjectMeta.metadata.labels")
    c.map_of_str(meta.get("annotations"), "ObjectMeta.metadata.annotations")
    c.typed(meta.get("finalizers"), "ObjectMeta.metadata.finalizers", list, "[]string")
    for item in meta.get("finalizers") or []:
        c.typed(item, "ObjectMeta.metadata.finalizers", str, "string")
    c.list_of_objects(meta.get("ownerReferences"), "ObjectMeta.metadata.ownerReferences", "v1.OwnerReference")
    if rtype.group in ("", "apps", "policy", "apiextensions.k8s.io") and "spec" in obj:
        c.typed(obj["spec"], f"{rtype.kind}.spec", dict, f"v1.{rtype.kind}Spec")
    raw_spec = obj.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    if rtype.group == "" and rtype.kind == "Pod":
        _pod(c, spec)
    elif rtype.group == "" and rtype.kind == "Node":
        c.list_of_objects(spec.get("taints"), "NodeSpec.spec.taints", "v1.Taint")
        c.typed(spec.get("unschedulable"), "NodeSpec.spec.unschedulable", bool, "bool")
    elif rtype.group == "" and rtype.kind == "ConfigMap":
        c.map_of_str(obj.get("data"), "ConfigMap.data")
    elif rtype.kind == "PodDisruptionBudget":
        c.typed(spec.get("selector"), "PodDisruptionBudgetSpec.spec.selector", dict, "v1.LabelSelector")
        _selector(c, rtype, obj, spec.get("selector") or {})
        _budget_numbers(rtype, obj, spec)
    elif rtype.kind == "CustomResourceDefinition":
        c.typed(
            spec.get("names"),
            "CustomResourceDefinitionSpec.spec.names",
            dict,
            "v1.CustomResourceDefinitionNames",
        )
        for key in ("group", "scope"):
            c.typed(spec.get(key), f"CustomResourceDefinitionSpec.spec.{key}", str, "string")
        versions = c.list_of_objects(
            spec.get("versions"),
            "CustomResourceDefinitionSpec.spec.versions",
            "v1.CustomResourceDefinitionVersion",
        )
        for index, version in enumerate(versions):
            if not isinstance(version.get("name"), str) or not version["name"]:
                raise errors.invalid(
                    rtype.kind,
                    rtype.group,
                    str(meta.get("name", "")),
                    [(f"spec.versions[{index}].name", "FieldValueRequired", "Required value")],
                )


def _pod(c: _Checker, spec: dict[str, Any]) -> None:
    for group in ("containers", "initContainers"):
        for container in c.list_of_objects(spec.get(group), f"PodSpec.spec.{group}", "v1.Container"):
            c.typed(container.get("name"), "Container.spec.containers.name", str, "string")
            resources = container.get("resources")
            c.typed(resources, "Container.spec.containers.resources", dict, "v1.ResourceRequirements")
            for section in ("limits", "requests"):
                value = (resources or {}).get(section)
                c.typed(
                    value,
                    f"ResourceRequirements.spec.containers.resources.{section}",
                    dict,
                    "v1.ResourceList",
                )
    c.map_of_str(spec.get("nodeSelector"), "PodSpec.spec.nodeSelector")
    c.list_of_objects(spec.get("tolerations"), "PodSpec.spec.tolerations", "v1.Toleration")
    c.typed(spec.get("nodeName"), "PodSpec.spec.nodeName", str, "string")
    c.typed(spec.get("affinity"), "PodSpec.spec.affinity", dict, "v1.Affinity")


_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _selector(c: _Checker, rtype: ResourceType, obj: dict[str, Any], selector: dict[str, Any]) -> None:
    """A LabelSelector: typed fields, then valid operators and values (422)."""
    c.map_of_str(selector.get("matchLabels"), "LabelSelector.spec.selector.matchLabels")
    expressions = c.list_of_objects(
        selector.get("matchExpressions"),
        "LabelSelector.spec.selector.matchExpressions",
        "v1.LabelSelectorRequirement",
    )
    causes = []
    for index, expr in enumerate(expressions):
        field = f"spec.selector.matchExpressions[{index}]"
        values = expr.get("values") or []
        if not isinstance(expr.get("key"), str) or not expr["key"]:
            causes.append((f"{field}.key", "FieldValueRequired", "Required value"))
        if expr.get("operator") not in _OPERATORS:
            causes.append(
                (
                    f"{field}.operator",
                    "FieldValueInvalid",
                    f'Invalid value: "{expr.get("operator")}": not a valid selector operator',
                )
            )
        elif not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            causes.append(
                (f"{field}.values", "FieldValueInvalid", "Invalid value: must be a list of strings")
            )
        elif (expr["operator"] in ("In", "NotIn")) != bool(values):
            why = (
                "must be specified when `operator` is 'In' or 'NotIn'"
                if not values
                else "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )
            causes.append(
                (f"{field}.values", "FieldValueRequired" if not values else "FieldValueForbidden", why)
            )
    if causes:
        raise errors.invalid(
            rtype.kind, rtype.group, str((obj.get("metadata") or {}).get("name", "")), causes
        )


def _budget_numbers(rtype: ResourceType, obj: dict[str, Any], spec: dict[str, Any]) -> None:
    for key in ("minAvailable", "maxUnavailable"):
        value = spec.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            continue
        if isinstance(value, str) and _PERCENT.match(value):
            continue
        raise errors.invalid(
            rtype.kind,
            rtype.group,
            str((obj.get("metadata") or {}).get("name", "")),
            [
                (
                    f"spec.{key}",
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": a valid percent string must be a numeric string followed by '
                    "an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                )
            ],
        )
