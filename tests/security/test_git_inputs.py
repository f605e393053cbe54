"""Git names and paths from users are checked before Git sees them (branch names, revisions,
sub-paths: no option injection, no `rev:path` reads, no leaving the repository), and no
project code runs a shell or builds a command line from a string."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpuctl.cli import app
from reconciler.daemon.settings import SettingsError, load_settings
from reconciler.source.refs import check_branch, check_revision, check_subpath

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gpuctl", "schemas", "reconciler", "simulator", "sandbox")


@pytest.mark.parametrize("name", ["main", "release/1.2", "team-a_x", "v2"])
def test_valid_branch_names_pass(name: str) -> None:
    """Ordinary branch names are accepted unchanged."""
    assert check_branch(name) == name


@pytest.mark.parametrize("name", ["--upload-pack=touch x", "-b", "a..b", "a b", "a:b", ".hidden", "x.lock",
                                  "a@{1}", "/abs", "end/", "a//b", "x~1", "q?", "", "a\x00b"])
def test_invalid_branch_names_are_refused(name: str) -> None:
    """Option-like names and anything `git check-ref-format --branch` refuses raise ValueError."""
    with pytest.raises(ValueError, match="invalid branch name"):
        check_branch(name)


VALID_REVISIONS = ["HEAD", "HEAD~1", "main^2", "v1.2", "origin/main", "main@{1}", "f" * 40]


@pytest.mark.parametrize("revision", VALID_REVISIONS)
def test_valid_revisions_pass(revision: str) -> None:
    """Refs, tags, SHAs and ~N/^N/@{N} suffixes are accepted."""
    assert check_revision(revision) == revision


@pytest.mark.parametrize("revision", ["--output=/tmp/x", "HEAD:../../etc/passwd", "main..evil", "HEAD^{tree}",
                                      "HEAD 1", ":/message", "-"])
def test_invalid_revisions_are_refused(revision: str) -> None:
    """Options, tree-path lookups, ranges and peel syntax raise ValueError."""
    with pytest.raises(ValueError, match="invalid revision"):
        check_revision(revision)


@pytest.mark.parametrize("path", ["../other", "a/../../b", "/etc", "C:/x", "a\\..\\b"])
def test_subpaths_leaving_the_repository_are_refused(path: str) -> None:
    """Absolute paths and `..` components raise ValueError; plain relative paths pass."""
    with pytest.raises(ValueError, match="invalid path"):
        check_subpath(path)
    assert check_subpath("clusters/prod/") == "clusters/prod"


@pytest.mark.parametrize("command", ["validate", "render", "apply"])
def test_cli_refuses_an_option_as_revision(tmp_path: Path, command: str) -> None:
    """--revision '--output=FILE' exits 2 with a clear message and git never writes FILE."""
    target = tmp_path / "pwned"
    args = [command, str(ROOT / "desired_state"), f"--revision=--output={target}"]
    if command == "apply":
        args += ["--sandbox", "http://127.0.0.1:9", "--audit-db", str(tmp_path / "a.db")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "invalid revision" in result.output and not target.exists()


@pytest.mark.parametrize(("field", "value"), [("branch", "--upload-pack=touch x"), ("path", "../../etc")])
def test_daemon_settings_refuse_bad_branch_and_path(tmp_path: Path, field: str, value: str) -> None:
    """gpuctl run refuses an option-like branch and a path leaving the repository."""
    with pytest.raises(SettingsError, match=field):
        load_settings({"repo": str(tmp_path), "sandbox": True, field: value})


def shell_uses(source: str) -> list[str]:
    """Calls in `source` that run a shell or pass a command as one string."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if name in {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"}:
            found.append(name)
        if name.startswith("subprocess.") or name.endswith("Popen"):
            if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                   for k in node.keywords):
                found.append(f"{name}(shell=...)")
            if node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr | ast.BinOp):
                found.append(f"{name}(string command)")
    return found


def test_shell_detector_finds_shell_calls() -> None:
    """The detector below flags shell=True, os.system and string command lines."""
    bad = 'import os, subprocess\nos.system("x")\nsubprocess.run(f"git {r}", shell=True)\n'
    assert shell_uses(bad) == ["os.system", "subprocess.run(shell=...)", "subprocess.run(string command)"]
    assert shell_uses('import subprocess\nsubprocess.run(["git", "status"], check=True)\n') == []


def test_no_project_code_runs_a_shell() -> None:
    """No module of the product packages runs a shell or passes a command line as a string."""
    offenders = {
        str(path.relative_to(ROOT)): uses
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (uses := shell_uses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
