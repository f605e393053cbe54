"""`gpuctl validate` on every repository of the hostile corpus: exit 1 and an error of the
case's rule that names the file and line (`file:line:col: error: ... [rule]`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpuctl.cli import app
from tests.hostile.corpus import CASES, HostileCase, write_case


def test_the_corpus_has_at_least_forty_repositories() -> None:
    """The corpus holds at least 40 distinct broken repositories."""
    assert len({case.name for case in CASES}) == len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_validate_rejects_with_file_and_line(tmp_path: Path, case: HostileCase) -> None:
    """The hostile repository is invalid (exit 1) and the finding names its file:line and rule."""
    root = write_case(tmp_path / "repo", case)
    result = CliRunner().invoke(app, ["validate", str(root)])
    assert result.exit_code == 1, result.output
    line = r"\d+" if case.line is None else str(case.line)
    finding = re.compile(rf"{re.escape(case.file)}:{line}:\d+: error: .*\[{re.escape(case.rule)}\]$", re.M)
    assert finding.search(result.output), result.output
