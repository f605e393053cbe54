"""The one error type of the trace loaders: what is wrong, where, and what would be right."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from simulator.errors import InputError


class TraceError(InputError):
    """A trace file that cannot be read; `str()` is `file:line: message`."""

    def __init__(self, file: str | Path, line: int, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        super().__init__(f"{self.file}:{line}: {message}")


def read_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with a header, as (line number, column → text); checks the header."""
    try:
        fh = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise TraceError(path, 0, f"cannot open: {exc.strerror}") from exc
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise TraceError(path, 1, f"empty file; expected a header with {', '.join(required)}")
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise TraceError(
                path, 1, f"header lacks {', '.join(missing)}; expected at least {', '.join(required)}"
            )
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise TraceError(
                    path, reader.line_num, f"{len(row)} fields, but the header has {len(header)}"
                )
            yield reader.line_num, dict(zip(header, row, strict=True))


def parse_int(
    path: Path, line: int, column: str, text: str, *, low: int = 0, default: int | None = None
) -> int:
    """`text` as an integer ≥ `low` (a float with no fraction is accepted)."""
    text = text.strip()
    if not text and default is not None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise TraceError(path, line, f"{column} {text!r} is not a number") from None
    if value != int(value):
        raise TraceError(path, line, f"{column} {text!r} must be a whole number")
    if value < low:
        raise TraceError(path, line, f"{column} {text!r} must be at least {low}")
    return int(value)


def parse_float(
    path: Path, line: int, column: str, text: str, *, low: float = 0.0, default: float | None = None
) -> float:
    """`text` as a finite number ≥ `low`."""
    text = text.strip()
    if not text and default is not None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise TraceError(path, line, f"{column} {text!r} is not a number") from None
    if not value >= low or value == float("inf"):
        raise TraceError(path, line, f"{column} {text!r} must be a finite number ≥ {low}")
    return value
