"""pydantic validation errors → file:line diagnostics.

pydantic reports each error with a `loc` path of field aliases, list indexes and, for unions,
member tags. Walking that path through the validated data keeps only the steps that exist in
the document, which gives a JSON pointer whose source position the parser recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from reconciler.yamldocs import escape_pointer_token
from schemas.diagnostics import Diagnostic, Severity, SourceLocation
from schemas.validation_text import describe

PositionLookup = Callable[[str], SourceLocation]
ModelT = TypeVar("ModelT", bound=BaseModel)


def pointer_for(data: Any, loc: tuple[int | str, ...]) -> tuple[str, str]:
    """(JSON pointer, dotted path) of the deepest part of `loc` that exists in `data`; a final
    step that does not exist (a missing field) still names the dotted path."""
    pointer, dotted, current = "", "", data
    for index, step in enumerate(loc):
        if isinstance(current, dict) and isinstance(step, str) and step in current:
            current = current[step]
            pointer += "/" + escape_pointer_token(step)
            dotted += ("." if dotted else "") + step
        elif isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
            current = current[step]
            pointer += f"/{step}"
            dotted += f"[{step}]"
        elif index == len(loc) - 1 and isinstance(current, dict) and isinstance(step, str):
            dotted += ("." if dotted else "") + step
    return pointer, dotted


def diagnostics_from_pydantic(
    err: ValidationError,
    data: Any,
    position: PositionLookup,
    rule: str,
    *,
    subject: str,
    rule_for_unknown: str | None = None,
    unknown_hint: Callable[[str], str] | None = None,
) -> list[Diagnostic]:
    """One diagnostic per pydantic error, placed at the field it concerns."""
    found: dict[tuple[SourceLocation, str], Diagnostic] = {}
    for error in err.errors(include_url=False):
        loc = tuple(error["loc"])
        pointer, dotted = pointer_for(data, loc)
        where = position(pointer)
        kind = error["type"]
        if kind == "extra_forbidden":
            message = f"{subject}: unknown field {dotted}"
            if unknown_hint is not None:
                message += unknown_hint(dotted)
            this_rule = rule_for_unknown or rule
        elif kind == "missing":
            message = f"{subject}: missing required field {dotted}"
            this_rule = rule
        else:
            message = f"{subject}: {dotted or 'document'}: {describe(error)}"
            this_rule = rule
        # Unions report one error per member; keep the first per place and message.
        found.setdefault((where, message), Diagnostic(where, Severity.ERROR, message, this_rule))
    return list(found.values())


def validate_or_report(
    model: type[ModelT],
    data: Any,
    position: PositionLookup,
    rule: str,
    sink: list[Diagnostic],
    *,
    subject: str,
    rule_for_unknown: str | None = None,
    unknown_hint: Callable[[str], str] | None = None,
) -> ModelT | None:
    """`data` validated as `model`, or None with one diagnostic per error added to `sink`."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        sink.extend(
            diagnostics_from_pydantic(
                err,
                data,
                position,
                rule,
                subject=subject,
                rule_for_unknown=rule_for_unknown,
                unknown_hint=unknown_hint,
            )
        )
        return None
