"""`gpuctl apply` on every repository of the hostile corpus, against one sandbox cluster:
the command exits 2 (an invalid repository is an input error) naming the file and line, and
the sandbox counts no write request (nothing is applied, not even the parts that are fine)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sandbox
from gpuctl.cli import app
from tests.hostile.corpus import CASES, HostileCase, write_case
from tests.reconciler.e2e.engine_kit import example_state

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[sandbox.Sandbox]:
    with sandbox.start(sandbox.SandboxSpec.from_state(example_state())) as sb:
        yield sb


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_apply_writes_nothing(tmp_path: Path, cluster: sandbox.Sandbox, case: HostileCase) -> None:
    """apply of the hostile repository exits 2, names file:line and makes zero write requests."""
    root = write_case(tmp_path / "repo", case)
    before = cluster.write_count
    kubeconfig = str(cluster.kubeconfig_path)
    args = ["apply", str(root), "--sandbox", kubeconfig, "--audit-db", str(tmp_path / "a.db")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"[{case.rule}]" in result.output and f"{case.file}:" in result.output
    assert "nothing was applied" in result.output
    assert cluster.write_count == before
