"""Helpers for the pre-merge comparison tests: a temporary Git repository holding a copy of the
example desired state, with commits made by editing its files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import git
import pytest

from reconciler.source import load_directory
from schemas.desired import DesiredState
from tests.simulator.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "desired_state"
H100_POOL = "desired_state/pools/h100-inference.yaml"

Commit = Callable[[dict[str, Callable[[str], str]], str], str]


@pytest.fixture
def example_repo(tmp_path: Path) -> tuple[Path, Commit]:
    """A Git repository with `desired_state/` committed, and a function that edits files
    (path → text transformer), commits them and returns the new commit's SHA."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE, root / "desired_state")
    repo = git.Repo.init(root)
    with repo.config_writer() as config:
        config.set_value("user", "name", "test")
        config.set_value("user", "email", "test@example.com")
    repo.index.add([str(p.relative_to(root)) for p in (root / "desired_state").rglob("*") if p.is_file()])
    repo.index.commit("base")

    def commit(edits: dict[str, Callable[[str], str]], message: str) -> str:
        for relative, edit in edits.items():
            path = root / relative
            path.write_text(edit(path.read_text()))
            repo.index.add([relative])
        return repo.index.commit(message).hexsha

    return root, commit


def drop_mig_3g(text: str) -> str:
    """The h100-inference pool switched to a layout without 3g.40gb instances."""
    assert "config: all-balanced" in text
    return text.replace("config: all-balanced", "config: inference-small")


def neutral_edit(text: str) -> str:
    """A comment and a node label added: nothing the simulator or the rollout sees."""
    return "# reviewed by the capacity team\n" + text.replace(
        "gpuctl.dev/workload-class: inference",
        "gpuctl.dev/workload-class: inference\n    owner: llm-platform",
    )


def example_state() -> DesiredState:
    result = load_directory(EXAMPLE)
    assert result.state is not None
    return result.state
