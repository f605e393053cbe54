"""Rules on object identity and scope: one definition per object (kind/namespace/name), and
the namespaces and kinds that `gpuctl.yaml` allows."""

from __future__ import annotations

import fnmatch

from reconciler.validation.context import Context
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity
from schemas.refs import ObjectRef

RULE_DUPLICATE = "duplicate-object"
RULE_NAMESPACE = "namespace-not-allowed"
RULE_KIND = "kind-not-allowed"


def check_identity(context: Context) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    first_place: dict[tuple[str, str, str, str], Manifest] = {}
    for manifest in context.state.manifests:
        ref = manifest.ref
        # Group and version may differ between two spellings of one object (v1beta1/v1beta2).
        key = (ref.group, ref.kind, ref.namespace, ref.name)
        first = first_place.get(key)
        if first is not None:
            found.append(
                Diagnostic(
                    manifest.location,
                    Severity.ERROR,
                    f"{ref} is defined twice: here and at {first.location}",
                    RULE_DUPLICATE,
                )
            )
            continue
        first_place[key] = manifest
    found.extend(_check_allow_lists(context))
    return found


def _check_allow_lists(context: Context) -> list[Diagnostic]:
    allow = context.state.settings.allow
    if allow is None:
        return []
    found: list[Diagnostic] = []
    for manifest in context.state.manifests:
        ref: ObjectRef = manifest.ref
        if allow.namespaces and ref.namespace and not _matches(ref.namespace, allow.namespaces):
            found.append(
                Diagnostic(
                    manifest.position("/metadata/namespace"),
                    Severity.ERROR,
                    f"{ref}: namespace {ref.namespace!r} is not in gpuctl.yaml allow.namespaces "
                    f"({', '.join(allow.namespaces)})",
                    RULE_NAMESPACE,
                )
            )
        if allow.kinds and not _matches(ref.kind, allow.kinds):
            found.append(
                Diagnostic(
                    manifest.position("/kind"),
                    Severity.ERROR,
                    f"{ref}: kind {ref.kind} is not in gpuctl.yaml allow.kinds ({', '.join(allow.kinds)})",
                    RULE_KIND,
                )
            )
    return found


def _matches(value: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)
