"""Shared by the kustomize tests: the real kustomize must be there (skip outside CI, fail in
CI), the multi-cluster example, and small Git helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.source.kustomize_tool import KustomizeUnavailableError, find_tool

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "multi-cluster"


@pytest.fixture
def kustomize_tool() -> str:
    """The kustomize these tests build with (its label, e.g. `kubectl kustomize v5.5.0`)."""
    try:
        return find_tool().label
    except KustomizeUnavailableError:
        if os.environ.get("CI") == "true":
            pytest.fail("kustomize (or kubectl, which carries it) is required in CI")
        pytest.skip("neither kustomize nor kubectl is installed")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def example_repo(root: Path) -> Path:
    """A Git repository holding a copy of the multi-cluster example, committed on `main`."""
    shutil.copytree(EXAMPLE, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "example")
    return root


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
