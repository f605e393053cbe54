"""`gpuctl diff`/`apply` errors that need no cluster (exit 2), and the revision recorded for a
directory inside a Git repository."""

from __future__ import annotations

from pathlib import Path

import git
from typer.testing import CliRunner

from gpuctl.cli import app
from reconciler.source.revision import describe_directory


def test_invalid_repository_exits_2_with_file_and_line(tmp_path: Path) -> None:
    """A manifest error stops diff before any cluster access, naming file:line."""
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    result = CliRunner().invoke(app, ["diff", str(tmp_path), "--sandbox", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output and "nothing was applied" in result.output


def test_missing_directory_exits_2(tmp_path: Path) -> None:
    """A path that is not a directory is a usage error (exit 2)."""
    result = CliRunner().invoke(app, ["apply", str(tmp_path / "nope"), "--sandbox", "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "is not a directory" in result.output


def test_missing_kubeconfig_exits_2(tmp_path: Path) -> None:
    """A kubeconfig that does not exist is reported, exit 2."""
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    result = CliRunner().invoke(app, ["apply", str(tmp_path), "--kubeconfig", str(tmp_path / "kc")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_revision_of_a_git_directory(tmp_path: Path) -> None:
    """Inside a Git work tree the commit sha, author and subject are recorded; edits mark it dirty."""
    repo = git.Repo.init(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "ns.yaml").write_text("kind: Namespace\n")
    repo.index.add(["state/ns.yaml"])
    actor = git.Actor("Ada", "ada@example.org")
    commit = repo.index.commit("Add team namespace\n\nbody", author=actor, committer=actor)
    info = describe_directory(tmp_path / "state")
    assert (info.sha, info.author, info.message, info.path) == (
        commit.hexsha,
        "Ada <ada@example.org>",
        "Add team namespace",
        "state",
    )
    (tmp_path / "state" / "ns.yaml").write_text("kind: Namespace # edited\n")
    assert describe_directory(tmp_path / "state").sha == commit.hexsha + "-dirty"
