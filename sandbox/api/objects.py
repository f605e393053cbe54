"""What the API server does to every object on write: identity and bookkeeping metadata
(uid, creationTimestamp, generation), defaults for a few kinds, and validation of names and
labels with the API server's own messages."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sandbox.api import shapes
from sandbox.api.errors import ApiError, invalid
from sandbox.api.quantity import parse_quantity
from sandbox.api.resources import ResourceType

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
# Kinds whose names are DNS labels rather than subdomains.
_LABEL_NAMED = frozenset({"Namespace", "Service"})


def _label_key_errors(key: str) -> list[str]:
    prefix, _, name = key.rpartition("/")
    problems = []
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        problems.append(f"prefix part {_SUBDOMAIN_MSG}")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        problems.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
            "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') and be at most 63 characters"
        )
    return problems


def validate(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """400 for fields of the wrong type, else 422 Invalid with one cause per problem, in the
    API server's wording."""
    shapes.check(rtype, obj)
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    causes: list[tuple[str, str, str]] = []
    if rtype.kind in _LABEL_NAMED:
        if len(name) > 63 or not _DNS_LABEL.match(name):
            causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {_LABEL_MSG}'))
    elif len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {_SUBDOMAIN_MSG}'))
    for key, value in (meta.get("labels") or {}).items():
        for problem in _label_key_errors(key):
            causes.append(("metadata.labels", "FieldValueInvalid", f'Invalid value: "{key}": {problem}'))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            shown = value if isinstance(value, str) else repr(value)
            causes.append(("metadata.labels", "FieldValueInvalid", f'Invalid value: "{shown}": {_VALUE_MSG}'))
    for key, value in (meta.get("annotations") or {}).items():
        if not isinstance(value, str):
            causes.append(
                (
                    f"metadata.annotations[{key}]",
                    "FieldValueInvalid",
                    f"Invalid value: {value!r}: annotation values must be strings",
                )
            )
    if rtype.kind == "Pod" and rtype.group == "":
        containers = (obj.get("spec") or {}).get("containers")
        if not containers:
            causes.append(("spec.containers", "FieldValueRequired", "Required value"))
        causes += _resource_errors(obj)
    if rtype.kind == "PodDisruptionBudget":
        spec = obj.get("spec") or {}
        if "minAvailable" in spec and "maxUnavailable" in spec:
            causes.append(
                (
                    "spec",
                    "FieldValueInvalid",
                    "Invalid value: minAvailable and maxUnavailable cannot be both set",
                )
            )
    if causes:
        raise invalid(rtype.kind, rtype.group, name, causes)


def _resource_errors(pod: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Container requests and limits must be quantities (e.g. `2`, `500m`, `64Gi`)."""
    causes = []
    spec = pod.get("spec") or {}
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            resources = container.get("resources") or {} if isinstance(container, dict) else {}
            for section in ("limits", "requests"):
                for name, value in (resources.get(section) or {}).items():
                    try:
                        parse_quantity(value)
                    except (ValueError, TypeError):
                        causes.append(
                            (
                                f"spec.{group}[{index}].resources.{section}[{name}]",
                                "FieldValueInvalid",
                                f'Invalid value: "{value}": must match the regex '
                                "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$",
                            )
                        )
    return causes


def check_type_meta(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """400 when the body's apiVersion/kind do not belong to the URL (empty ones are filled)."""
    api_version = obj.setdefault("apiVersion", rtype.api_version)
    kind = obj.setdefault("kind", rtype.kind)
    if api_version != rtype.api_version:
        raise ApiError(
            400,
            "BadRequest",
            f"the API version in the data ({api_version}) does not match "
            f"the expected API version ({rtype.api_version})",
        )
    if kind != rtype.kind:
        raise ApiError(
            400,
            "BadRequest",
            f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})",
        )


def initialise(rtype: ResourceType, obj: dict[str, Any], now: str) -> None:
    """Metadata and defaults of a newly created object."""
    meta = obj["metadata"]
    for server_field in ("resourceVersion", "managedFields", "deletionTimestamp", "selfLink"):
        meta.pop(server_field, None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now
    if rtype.has_generation or rtype.group not in BUILTIN_GROUPS:
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    if rtype.kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}
    elif rtype.kind == "Pod" and rtype.group == "":
        _default_pod(obj)
    elif (rtype.group, rtype.kind) in _STATUS_RESET_ON_CREATE:
        obj["status"] = {}  # as their strategies' PrepareForCreate: a client cannot create a status


# Kinds whose Go status struct is not a pointer and whose create strategy resets it: the real
# server answers `status: {}` from the first read, before any controller has written to it.
_STATUS_RESET_ON_CREATE = frozenset(
    {
        ("batch", "Job"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
    }
)


BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "policy",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
    }
)


def _default_pod(pod: dict[str, Any]) -> None:
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("serviceAccountName", "default")
    for container in spec.get("containers") or []:
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", "IfNotPresent")
    pod["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}


def _qos_class(spec: dict[str, Any]) -> str:
    containers = spec.get("containers") or []
    requests = [c.get("resources", {}).get("requests") or {} for c in containers]
    limits = [c.get("resources", {}).get("limits") or {} for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        lim.get("cpu") and lim.get("memory") and (not req or req == lim)
        for req, lim in zip(requests, limits, strict=True)
    )
    return "Guaranteed" if guaranteed else "Burstable"


def bump_generation(rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """metadata.generation counts changes outside metadata and status."""
    generation = old["metadata"].get("generation")
    if generation is None:
        return
    changed = any(old.get(k) != new.get(k) for k in set(old) | set(new) if k not in ("metadata", "status"))
    new["metadata"]["generation"] = generation + 1 if changed else generation
