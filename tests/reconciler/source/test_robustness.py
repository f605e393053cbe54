"""Robustness: whatever a value of the example repository is replaced with, loading reports
findings instead of raising."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.source import load_files
from reconciler.source.files import RepoFile

EXAMPLE = Path(__file__).resolve().parents[3] / "desired_state"
_KEY_LINE = re.compile(r"^(\s*-?\s*[\w.\-/\"]+:)\s*(\S.*)?$")


@dataclass(frozen=True)
class _Bytes:
    data: bytes

    def read(self) -> bytes:
        return self.data


def _files(overrides: dict[str, str]) -> list[RepoFile]:
    files = []
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        relative = path.relative_to(EXAMPLE).as_posix()
        data = overrides.get(relative, path.read_text()).encode()
        files.append(RepoFile(relative, len(data), _Bytes(data)))
    return files


def _mutations() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        for number, line in enumerate(path.read_text().splitlines()):
            if _KEY_LINE.match(line):
                found.append((path.relative_to(EXAMPLE).as_posix(), number, line))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("replacement", [" []", " {}", " 7", " null", " x"])
def test_any_value_replaced_yields_findings_not_exceptions(replacement: str) -> None:
    """Replacing each value of each example file with a wrong type never crashes the loader."""
    for relative, number, line in _mutations():
        match = _KEY_LINE.match(line)
        assert match is not None
        lines = (EXAMPLE / relative).read_text().splitlines()
        lines[number] = match.group(1) + replacement
        result = load_files(_files({relative: "\n".join(lines) + "\n"}), root="example", revision=None)
        assert result.ok == (not result.errors)
