"""Redaction of credentials before anything is stored, printed or logged.

Used by the audit store (every ChangeEntry's JSON patch is redacted before it is hashed and
written) and meant for reuse by `gpuctl diff` and the structured logs. Pure functions over
JSON-like values; nothing here touches a cluster or a file.

What is redacted (the value becomes `"<redacted>"`, keys and structure stay visible so a
reader still sees *which* entry changed):

- every value under a Secret's `data` / `stringData`, and its
  `kubectl.kubernetes.io/last-applied-configuration` annotation (which repeats the data);
- every string or number under a key that looks like a credential (`password`, `token`,
  `secret`, `apiKey`, `privateKey`, `credentials`, … in any case or spelling, at any depth),
  except keys that only *reference* another object (`secretName`, `secretKeyRef`, …) and
  values shaped like a reference (a volume's `secret: {secretName, items}`,
  `imagePullSecrets: [{name}]`), which name a Secret without holding its data;
- the `value` of an `{name, value}` pair (a container env var) whose `name` looks like a
  credential, and — because a bare patch does not say which variable it touches — the value
  of any JSON-patch operation that replaces an env var's `value` directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schemas.refs import ObjectRef

REDACTED = "<redacted>"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

# Normalised (lower case, separators removed) fragments that mark a credential-bearing key.
_CREDENTIAL_FRAGMENTS = (
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "privatekey",
    "credential",
    "accesskey",
    "clientkey",
)
# Keys that name or point at another object rather than hold a credential.
_REFERENCE_SUFFIXES = ("name", "names", "ref", "refs", "namespace", "path", "file")
# The fields of Kubernetes references to a Secret (volume `secret:`, `imagePullSecrets: [{name}]`,
# `envFrom[].secretRef`): a credential-named key whose value has only these is a reference.
_REFERENCE_FIELDS = frozenset(
    {"name", "secretName", "namespace", "items", "defaultMode", "optional", "path", "mode"}
)
_SEPARATORS = re.compile(r"[-_.\s]")
_SECRET_PAYLOAD_KEYS = frozenset({"data", "stringData"})


def looks_like_credential(key: str) -> bool:
    """Whether a mapping key (or env var name) names a credential, e.g. `dbPassword`, `API_TOKEN`."""
    normalised = _SEPARATORS.sub("", key).lower()
    if normalised.endswith(_REFERENCE_SUFFIXES):
        return False
    return any(fragment in normalised for fragment in _CREDENTIAL_FRAGMENTS)


def redact_value(value: Any) -> Any:
    """`value` with every string/number leaf replaced by the marker; booleans and nulls kept."""
    if isinstance(value, Mapping):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    return REDACTED


def redact_document(value: Any) -> Any:
    """A copy of a JSON-like value (a whole object or any part of one) with credentials redacted."""
    if isinstance(value, list):
        return [redact_document(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    is_secret = _is_secret_object(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if (is_secret and key in _SECRET_PAYLOAD_KEYS) or (
            looks_like_credential(str(key)) and not _is_reference_shape(item)
        ):
            out[key] = redact_value(item)
        elif is_secret and key == "metadata" and isinstance(item, Mapping):
            out[key] = _redact_secret_metadata(item)
        else:
            out[key] = redact_document(item)
    if _is_credential_env_pair(out):
        out["value"] = redact_value(out["value"])
    return out


def redact_patch(patch: list[dict[str, Any]], ref: ObjectRef | None = None) -> list[dict[str, Any]]:
    """A redacted copy of an RFC 6902 JSON patch against the object `ref` names.

    The target's kind decides Secret handling; each operation's `path` decides whether its
    `value` sits under a Secret payload, a credential key, or an env var's `value`.
    """
    target_is_secret = ref is not None and ref.kind == "Secret" and ref.group == ""
    return [_redact_operation(op, target_is_secret) for op in patch]


def _redact_operation(op: dict[str, Any], target_is_secret: bool) -> dict[str, Any]:
    out = dict(op)
    if "value" not in out:
        return out
    try:
        tokens = parse_pointer(str(out.get("path", "")))
    except ValueError:
        out["value"] = redact_value(out["value"])  # cannot tell where it goes: assume the worst
        return out
    if _path_is_sensitive(tokens, target_is_secret, out["value"]):
        out["value"] = redact_value(out["value"])
    elif target_is_secret:
        out["value"] = _redact_inside_secret(tokens, out["value"])
    else:
        out["value"] = redact_document(out["value"])
    return out


def _path_is_sensitive(tokens: list[str], target_is_secret: bool, value: Any) -> bool:
    if (
        target_is_secret
        and tokens
        and (
            tokens[0] in _SECRET_PAYLOAD_KEYS
            or tokens == ["metadata", "annotations", LAST_APPLIED_ANNOTATION]
        )
    ):
        return True
    if any(looks_like_credential(token) for token in tokens if not token.isdigit()):
        # …unless the op only sets a reference (`/…/secret/secretName`, `/…/secret` = {secretName}).
        return not (
            _is_reference_shape(value) or (tokens[-1] in _REFERENCE_FIELDS and isinstance(value, str))
        )
    # `/…/env/3/value`: the variable's name is not in the patch, so assume the worst.
    return len(tokens) >= 3 and tokens[-1] == "value" and tokens[-2].isdigit() and tokens[-3] == "env"


def _redact_inside_secret(tokens: list[str], value: Any) -> Any:
    """Redact `value`, which sits at `tokens` inside a Secret, as part of the whole Secret."""
    wrapped: Any = value
    for token in reversed(tokens):
        wrapped = {token: wrapped}
    if not isinstance(wrapped, Mapping):
        return redact_document(value)
    document = redact_document({**wrapped, "apiVersion": "v1", "kind": "Secret"})
    if not tokens:
        for key in ("apiVersion", "kind"):
            if key in value:
                document[key] = value[key]
            else:
                del document[key]
        return document
    for token in tokens:
        document = document[token]
    return document


def _redact_secret_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(redact_document(metadata))
    annotations = out.get("annotations")
    if isinstance(annotations, Mapping) and LAST_APPLIED_ANNOTATION in annotations:
        out["annotations"] = {**annotations, LAST_APPLIED_ANNOTATION: REDACTED}
    return out


def _is_reference_shape(value: Any) -> bool:
    """A mapping (or list of mappings) made only of object-reference fields, e.g. `{name: x}`."""
    if isinstance(value, list):
        return bool(value) and all(_is_reference_shape(item) for item in value)
    return isinstance(value, Mapping) and bool(value) and set(value) <= _REFERENCE_FIELDS


def _is_secret_object(value: Mapping[str, Any]) -> bool:
    return value.get("kind") == "Secret" and value.get("apiVersion") == "v1"


def _is_credential_env_pair(value: Mapping[str, Any]) -> bool:
    name = value.get("name")
    return "value" in value and isinstance(name, str) and looks_like_credential(name)


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of an RFC 6901 JSON pointer (`/a~1b/0` → `["a/b", "0"]`)."""
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON pointer (it must start with '/')")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]
