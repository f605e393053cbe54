"""The GitHub Actions example: valid YAML whose simulate step uses options and rules gpuctl accepts."""

from __future__ import annotations

import re
import shlex

import yaml
from typer.testing import CliRunner

from gpuctl.cli import app
from simulator.gate import parse_rule
from tests.simulator.conftest import REPO_ROOT

WORKFLOW = REPO_ROOT / "deploy" / "ci" / "github-actions-premerge.yaml"


def _simulate_arguments() -> list[str]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["gpuctl"]["steps"]
    script = next(s["run"] for s in steps if s.get("id") == "simulate")
    command = re.search(r"gpuctl simulate (.*?)\n\s*echo", script, re.S)
    assert command is not None
    return shlex.split(command.group(1).replace("\\\n", " "))


def test_workflow_rules_parse_and_options_exist() -> None:
    """Every --fail-if rule of the example parses, and every option it passes is one of simulate's."""
    args = _simulate_arguments()
    rules = [args[i + 1] for i, a in enumerate(args) if a == "--fail-if"]
    assert len(rules) == 3
    for rule in rules:
        parse_rule(rule)
    help_text = CliRunner().invoke(app, ["simulate", "compare", "--help"], terminal_width=200).stdout
    for option in {a for a in args if a.startswith("--")}:
        assert option in help_text, option
