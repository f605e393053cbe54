"""One consistent CLI: every command's help, the output and cluster options, the error prefix,
`--version` and shell completion."""

from __future__ import annotations

import enum
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import typer
from typer.testing import CliRunner

from gpuctl.cli import app

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()

# Commands that print a report, and so take -o/--output.
OUTPUT_COMMANDS = {
    "apply", "diff", "validate", "render", "audit log", "audit export", "rollout status",
    "simulate run", "simulate sweep", "simulate calibrate", "get", "status",
}  # fmt: skip
# Commands that talk to a cluster, and so take --kubeconfig and --context.
CLUSTER_COMMANDS = {
    "apply", "diff", "run", "rollout status", "rollout retry", "rollout abort", "rollout pause",
    "rollout resume", "sandbox nodes", "get", "status",
}  # fmt: skip


def _commands() -> Iterator[tuple[str, Any]]:
    """(name path, click command) of every command and group under `gpuctl`."""
    root = typer.main.get_command(app)

    def walk(prefix: str, command: Any) -> Iterator[tuple[str, Any]]:
        yield prefix, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(f"{prefix} {name}".strip(), sub)

    yield from walk("", root)


COMMANDS = dict(_commands())


def _help(path: str) -> str:
    result = runner.invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_help_has_path_style_usage_an_example_and_its_choices(path: str) -> None:
    """Each --help: usage without `{PATH}` or `\\[`, an Example line, every choice listed."""
    text = _help(path)
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: gpuctl"), usage
    assert "{" not in usage and "\\[" not in text, text
    assert "Example: gpuctl" in text, text
    for param in COMMANDS[path].params:
        if not param.hidden:
            for choice in _choices(param.type_descriptor.annotation):
                assert choice in text, (param.name, text)


def _choices(annotation: Any) -> list[str]:
    """The values an option's type allows (an Enum's, a Literal's), none for open types."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    if get_origin(annotation) is Literal:
        return [str(arg) for arg in get_args(annotation)]
    return [c for arg in get_args(annotation) if arg is not type(None) for c in _choices(arg)]


def _options(path: str) -> set[str]:
    return {opt for p in COMMANDS[path].params if not getattr(p, "hidden", False) for opt in p.opts}


def test_output_and_cluster_options_are_where_they_belong() -> None:
    """-o/--output on every reporting command; --kubeconfig/--context on every cluster command."""
    assert COMMANDS.keys() >= OUTPUT_COMMANDS and COMMANDS.keys() >= CLUSTER_COMMANDS
    for path in OUTPUT_COMMANDS:
        assert {"-o", "--output"} <= _options(path), path
    for path in CLUSTER_COMMANDS:
        assert {"--kubeconfig", "--context"} <= _options(path), path
    for path in ("apply", "run", "status", "audit log", "rollout retry"):
        assert {"--audit-db", "--db"} <= _options(path), path
    assert "--revision" in _options("simulate sweep") and "--rev" not in _options("simulate sweep")


def test_old_flag_names_still_work_but_are_hidden(tmp_path: Path) -> None:
    """`validate --format json` and `-f json` still give JSON; neither shows in help."""
    for flag in ("--format", "-f"):
        result = runner.invoke(app, ["validate", str(ROOT / "desired_state"), flag, "json"])
        assert result.exit_code == 0, result.output
        assert '"valid": true' in result.stdout
    assert "--format" not in _help("validate")
    yaml_out = runner.invoke(app, ["validate", str(ROOT / "desired_state"), "-o", "yaml"])
    assert yaml_out.exit_code == 0 and "valid: true" in yaml_out.stdout
    export = runner.invoke(app, ["audit", "export", "--db", str(tmp_path / "none.db")])
    assert "--jsonl" not in export.output and "required" not in _help("audit export")


@pytest.mark.parametrize(
    "args",
    [
        ["apply"],  # missing argument
        ["validate", ".", "-o", "xml"],  # bad choice
        ["diff", "/nonexistent-dir"],
        ["status", "--db", "/nonexistent-dir/audit.db"],
        ["simulate", "/nonexistent-dir"],
        ["simulate", "desired_state", "--time-scale", "-1"],
        ["trace", "export", "--since", "forever"],
        ["demo", "--source", "/nonexistent-dir"],
        ["run", "--poll-interval", "0s", "--kubeconfig", "k"],
        ["sandbox", "nodes", "--kubeconfig", "/nonexistent-k", "--pools", "desired_state"],
    ],
)
def test_failing_commands_print_one_error_prefix(args: list[str]) -> None:
    """Every failing command says `gpuctl: error: …` (no `error:`, `gpuctl simulate:`, pydantic)."""
    done = subprocess.run(
        [sys.executable, "-m", "gpuctl", *args], cwd=ROOT, capture_output=True, text=True, check=False,
        timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors and all(line.startswith("gpuctl: error: ") for line in errors), done.stderr
    assert "Value error" not in done.stderr and "Input should be" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_version_comes_from_package_metadata() -> None:
    """`gpuctl --version` prints the project's version."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"gpuctl {declared}"


def test_shell_completion_script_and_completions() -> None:
    """`--show-completion bash` prints a script, and the completion protocol lists commands."""
    shown = runner.invoke(app, ["--show-completion", "bash"], prog_name="gpuctl")
    assert shown.exit_code == 0 and "_GPUCTL_COMPLETE" in shown.stdout, shown.output
    env = {**os.environ, "_GPUCTL_COMPLETE": "complete_bash", "COMP_WORDS": "gpuctl roll", "COMP_CWORD": "1"}
    script = "from gpuctl.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        timeout=60,
    )  # fmt: skip
    assert done.stdout.split() == ["rollout"], done.stdout + done.stderr
