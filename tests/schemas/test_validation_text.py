"""pydantic errors in words a person acts on: `field: what is wrong; expected …`, with no
`Input should be`, `Value error,` or pydantic URLs, in settings, simulator inputs and findings."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from reconciler.daemon.settings import SettingsError, load_settings
from schemas.validation_text import describe_all


class _Sample(BaseModel):
    output: Literal["text", "json"] = "text"
    count: int = Field(1, gt=0)
    name: str = Field("x", min_length=2)
    mode: str = "a"

    @field_validator("mode")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in ("a", "b"):
            raise ValueError(f"{value!r} is not one of 'a', 'b'")
        return value


def _text(data: dict[str, object], *, flags: bool = False) -> str:
    with pytest.raises(ValidationError) as caught:
        _Sample.model_validate(data)
    return describe_all(caught.value.errors(include_url=False), flags=flags)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"output": "xml"}, "output: 'xml' is not allowed; expected 'text' or 'json'"),
        ({"count": 0}, "count: 0 is out of range; expected a value greater than 0"),
        ({"count": "many"}, "count: 'many' is not valid; expected a whole number"),
        ({"name": "y"}, "name: too short; expected at least 2 characters"),
        ({"mode": "xml"}, "mode: 'xml' is not one of 'a', 'b'"),
    ],
)
def test_each_error_reads_field_what_is_wrong_expected(data: dict[str, object], expected: str) -> None:
    """Literal, bound, type, length and custom-validator errors read as `field: …; expected …`."""
    text = _text(data)
    assert text == expected
    assert "Input should be" not in text and "Value error" not in text and "pydantic" not in text


def test_flags_are_named_as_typed() -> None:
    """With `flags`, the field is the command-line flag (`--count`)."""
    assert _text({"count": -2}, flags=True).startswith("--count: -2 is out of range")


def test_daemon_settings_errors_have_no_pydantic_wording() -> None:
    """A bad --log-format names the flag and the choices, in our words."""
    with pytest.raises(SettingsError) as caught:
        load_settings({"log_format": "xml"})
    message = str(caught.value)
    assert "--log-format: 'xml' is not allowed; expected 'auto', 'json' or 'console'" in message
    assert "Input should be" not in message and "errors.pydantic.dev" not in message
