"""jsonschema validation errors → file:line diagnostics through `Manifest.positions`, with
short messages (the offending value is abbreviated, unknown fields are named one by one)."""

from __future__ import annotations

from typing import Any

from reconciler.yamldocs import escape_pointer_token
from schemas.desired import Manifest
from schemas.diagnostics import Diagnostic, Severity

_MAX_VALUE_TEXT = 60


def _pointer(path: Any) -> str:
    return "".join(f"/{escape_pointer_token(str(step))}" for step in path)


def _dotted(path: Any) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else ("." if text else "") + str(step)
    return text or "document"


def schema_error_diagnostics(manifest: Manifest, error: Any, subject: str, rule: str) -> list[Diagnostic]:
    """Diagnostics of one jsonschema error, at the field it concerns; an unknown field is
    reported at its own key, one diagnostic per field."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        return [
            Diagnostic(
                manifest.position(_pointer([*path, key])),
                Severity.ERROR,
                f"{subject}: unknown field {_dotted([*path, key])}",
                rule,
            )
            for key in error.instance
            if key not in allowed
        ]
    if error.validator == "required":
        message = f"{subject}: {_dotted(path)}: {error.message}"
    elif error.validator == "type":
        wanted = error.validator_value
        wanted_text = " or ".join(t for t in ([wanted] if isinstance(wanted, str) else wanted) if t != "null")
        message = f"{subject}: {_dotted(path)} must be {wanted_text}, not {_short(error.instance)}"
    elif error.validator == "enum":
        message = f"{subject}: {_dotted(path)} is {_short(error.instance)}; allowed: {error.validator_value}"
    else:
        message = f"{subject}: {_dotted(path)}: {error.message[:200]}"
    return [Diagnostic(manifest.position(_pointer(path)), Severity.ERROR, message, rule)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_TEXT else text[: _MAX_VALUE_TEXT - 3] + "..."
