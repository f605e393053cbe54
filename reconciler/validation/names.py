"""Object names, namespaces, label keys and label values follow the API server's formats
(the OpenAPI schemas only say "string", so `kubectl apply` would be the first to complain):

- names are DNS-1123 subdomains (≤253 characters), except kinds whose names become DNS
  labels (Namespace, Service: ≤63 characters, no dots);
- `metadata.namespace` is a DNS-1123 label;
- label keys are an optional DNS subdomain prefix and `/` plus a name of ≤63 characters;
  label values are empty or ≤63 characters of alphanumerics, `-`, `_`, `.`, starting and
  ending alphanumeric.
"""

from __future__ import annotations

import re

from reconciler.validation.context import Context
from reconciler.yamldocs import escape_pointer_token
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity

RULE_NAME = "k8s-name-invalid"
RULE_LABEL = "k8s-label-invalid"
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^((?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS_LABEL_KINDS = {("", "Namespace"), ("", "Service")}


def check_names(context: Context) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for manifest in context.state.manifests:
        found.extend(_name(manifest))
        found.extend(_labels(manifest))
    return found


def _name(manifest: Manifest) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    ref = manifest.ref
    if (ref.group, ref.kind) in _DNS_LABEL_KINDS:
        if not _LABEL.match(ref.name):
            found.append(
                _diag(
                    manifest,
                    "/metadata/name",
                    f"name {ref.name!r} must be a DNS label: at most 63 lowercase letters, digits "
                    "and '-', starting and ending with a letter or digit",
                    RULE_NAME,
                )
            )
    elif not _SUBDOMAIN.match(ref.name):
        found.append(
            _diag(
                manifest,
                "/metadata/name",
                f"name {ref.name!r} must be a DNS subdomain: lowercase letters, digits, '-' and '.', "
                "starting and ending with a letter or digit, at most 253 characters",
                RULE_NAME,
            )
        )
    if ref.namespace and not _LABEL.match(ref.namespace):
        found.append(
            _diag(
                manifest,
                "/metadata/namespace",
                f"namespace {ref.namespace!r} must be a DNS label (at most 63 lowercase letters, "
                "digits and '-')",
                RULE_NAME,
            )
        )
    return found


def _labels(manifest: Manifest) -> list[Diagnostic]:
    metadata = manifest.obj.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if not isinstance(labels, dict):
        return []
    found: list[Diagnostic] = []
    for key, value in labels.items():
        pointer = f"/metadata/labels/{escape_pointer_token(str(key))}"
        problem = label_key_problem(str(key))
        if problem:
            found.append(_diag(manifest, pointer, f"label key {key!r}: {problem}", RULE_LABEL))
        if isinstance(value, str) and not _LABEL_VALUE.match(value):
            found.append(
                _diag(
                    manifest,
                    pointer,
                    f"label value {value!r} of {key}: at most 63 letters, digits, '-', '_' and '.', "
                    "starting and ending with a letter or digit (or empty)",
                    RULE_LABEL,
                )
            )
    return found


def label_key_problem(key: str) -> str | None:
    """What is wrong with a label key, or None if it is valid."""
    prefix, _, name = key.rpartition("/")
    if prefix and not _SUBDOMAIN.match(prefix):
        return f"prefix {prefix!r} must be a DNS subdomain"
    if not _QUALIFIED_NAME.match(name):
        return (
            f"name part {name!r} must be at most 63 letters, digits, '-', '_' and '.', "
            "alphanumeric at both ends"
        )
    return None


def _diag(manifest: Manifest, pointer: str, message: str, rule: str) -> Diagnostic:
    return Diagnostic(manifest.position(pointer), Severity.ERROR, f"{manifest.ref}: {message}", rule)
