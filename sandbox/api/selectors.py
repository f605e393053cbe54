"""Label and field selectors in their query-string forms (`labelSelector`, `fieldSelector`).

Label selectors accept every operator of the API (`=`, `==`, `!=`, `in`, `notin`, `key`,
`!key`); field selectors accept `=`, `==` and `!=` on the fields each kind supports, and
reject others with the API server's "field label not supported" error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.api.errors import ApiError, bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_OP = re.compile(r"^\s*(!?)([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_OP = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside `( )`."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse a `labelSelector` query value; 400 BadRequest when it is malformed."""
    requirements = []
    for part in _split_top_level(text or ""):
        eq = _EQ_OP.match(part)
        if eq:
            key, op, value = eq.groups()
            requirements.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            continue
        st = _SET_OP.match(part)
        if not st:
            raise bad_request(f"unable to parse requirement: found '{part.strip()}', expected: identifier")
        negated, key, op, values = st.groups()
        if op:
            if negated:
                raise bad_request(f"unable to parse requirement: unexpected '!' before '{key} {op}'")
            items = tuple(v.strip() for v in values.split(",") if v.strip())
            if not items:
                raise bad_request(f"unable to parse requirement: {op} needs at least one value for {key}")
            requirements.append(Requirement(key, op, items))
        else:
            requirements.append(Requirement(key, "!" if negated else "exists"))
    return requirements


def label_matcher(text: str | None) -> Matcher | None:
    if not text:
        return None
    requirements = parse_label_selector(text)

    def match(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return match


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A structured `LabelSelector` (matchLabels/matchExpressions) against labels."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        req = Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ()))
        if not req.matches(labels):
            return False
    return True


# Field paths each kind supports beyond metadata.name and metadata.namespace.
_FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "Node": ("spec.unschedulable",),
    "Namespace": ("status.phase",),
    "Secret": ("type",),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
}


def _field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    if path == "source":  # Event: source.component
        value = (obj.get("source") or {}).get("component", "")
        return str(value)
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_matcher(text: str | None, kind: str) -> Matcher | None:
    """Parse a `fieldSelector` for objects of `kind`; 400 when a field is not supported."""
    if not text:
        return None
    supported = {"metadata.name", "metadata.namespace", *_FIELDS_BY_KIND.get(kind, ())}
    terms: list[tuple[str, bool, str]] = []
    for part in text.split(","):
        match = re.match(r"^\s*([A-Za-z.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.groups()
        if field not in supported:
            raise ApiError(400, "BadRequest", f"field label not supported: {field}")
        terms.append((field, op == "!=", value))

    def match_fields(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, field) == value) != negated for field, negated, value in terms)

    return match_fields
