"""pydantic's validation errors in words a person acts on: `what is wrong; expected …`,
without pydantic's `Input should be`, `Value error,` or documentation URLs. Used wherever
a pydantic error reaches a user: `gpuctl validate` findings, daemon settings, simulator
inputs. Callers put the field (and file:line where they have one) in front."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_MAX_SHOWN = 60

_EXPECTED = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping of key: value",
    "model_type": "a mapping of key: value",
    "model_attributes_type": "a mapping of key: value",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "none_required": "nothing (null)",
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def field_name(loc: Sequence[int | str], *, flag: bool = False) -> str:
    """`spec.nodes[0].name` (or `--time-scale` for a command-line flag)."""
    if flag:
        return "--" + ".".join(str(step) for step in loc).replace("_", "-")
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else ("." if text else "") + str(step)
    return text


def describe(error: Mapping[str, Any]) -> str:
    """`what is wrong; expected …` for one entry of `ValidationError.errors()`."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    value = error.get("input")
    message = str(error.get("msg", ""))
    if kind == "missing":
        return "missing; expected a value"
    if kind == "extra_forbidden":
        return "not a known field; expected one of the documented fields (check the spelling)"
    if kind in ("literal_error", "enum"):
        return f"{_shown(value)} is not allowed; expected {ctx.get('expected', 'one of the choices')}"
    if kind in _EXPECTED:
        return f"{_shown(value)} is not valid; expected {_EXPECTED[kind]}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"{_shown(value)} is out of range; expected a value {words} {ctx.get(key)}"
    if kind in ("string_too_short", "too_short"):
        return f"too short; expected at least {ctx.get('min_length')} {_unit(kind)}"
    if kind in ("string_too_long", "too_long"):
        return f"too long; expected at most {ctx.get('max_length')} {_unit(kind)}"
    if kind == "string_pattern_mismatch":
        return f"{_shown(value)} does not match; expected text matching {ctx.get('pattern')}"
    if kind in ("value_error", "assertion_error"):
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if message.startswith("Input should be "):
        return f"{_shown(value)} is not valid; expected {message.removeprefix('Input should be ')}"
    return message


def _unit(kind: str) -> str:
    return "characters" if kind.startswith("string") else "items"


def describe_all(errors: Sequence[Mapping[str, Any]], *, flags: bool = False) -> str:
    """`field: what is wrong; expected …` for each error, joined by `; `."""
    return "; ".join(f"{field_name(e.get('loc', ()), flag=flags)}: {describe(e)}" for e in errors)
