"""The `gpuctl validate`, `render` and `schema` commands: output formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from gpuctl.cli import app
from tests.reconciler.repo_fixtures import BASE_REPO, MIG_PARTED, write_repo

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "desired_state"
runner = CliRunner()


def test_example_repository_validates_with_exit_0() -> None:
    """`gpuctl validate desired_state` exits 0 (run as a real subprocess, as users do)."""
    done = subprocess.run(
        [sys.executable, "-m", "gpuctl", "validate", "desired_state"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid (0 errors, 0 warnings)" in done.stderr


def test_invalid_repository_exits_1_with_sorted_lines(tmp_path: Path) -> None:
    """Findings print as `file:line:col: severity: message [rule]`, sorted, and exit 1."""
    write_repo(
        tmp_path,
        {
            **BASE_REPO,
            "gpu-operator/mig-parted.yaml": MIG_PARTED.replace('"1g.10gb": 2', '"1g.10gb": 8'),
            "z.yaml": "kind: ConfigMap\n",
        },
    )
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines == sorted(lines)
    assert any(
        line.startswith(f"{tmp_path}/gpu-operator/mig-parted.yaml:17:13: error:")
        and line.endswith("[mig-profile-count]")
        for line in lines
    )
    assert any(line.startswith(f"{tmp_path}/z.yaml:1:1: error:") for line in lines)
    assert "invalid (3 errors, 0 warnings)" in result.stderr


def test_json_format_lists_every_finding(tmp_path: Path) -> None:
    """--format json gives a machine-readable verdict with file, line, rule of each finding."""
    write_repo(tmp_path, {**BASE_REPO, "z.yaml": "kind: ConfigMap\n"})
    result = runner.invoke(app, ["validate", str(tmp_path), "--format", "json"])
    payload = json.loads(result.stdout)
    assert result.exit_code == 1 and payload["valid"] is False
    assert {(d["file"], d["line"], d["rule"]) for d in payload["diagnostics"]} == {
        (f"{tmp_path}/z.yaml", 1, "document-missing-field")
    }


def test_missing_path_exits_2(tmp_path: Path) -> None:
    """A path that does not exist is a usage/I-O error: exit 2."""
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such directory" in result.stderr


def test_revision_option_reads_git_history(tmp_path: Path) -> None:
    """--revision validates the tree of an older commit of the repository holding PATH."""

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.email=t@x.invalid", "-c", "user.name=t", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    write_repo(tmp_path, {f"state/{k}": v for k, v in BASE_REPO.items()})
    git("add", ".")
    git("commit", "-q", "-m", "valid")
    write_repo(tmp_path, {"state/broken.yaml": "a: [\n"})
    git("add", ".")
    git("commit", "-q", "-m", "broken")
    assert runner.invoke(app, ["validate", str(tmp_path / "state"), "--revision", "HEAD~1"]).exit_code == 0
    assert runner.invoke(app, ["validate", str(tmp_path / "state"), "--revision", "HEAD"]).exit_code == 1
    assert runner.invoke(app, ["validate", str(tmp_path / "state"), "--revision", "nope"]).exit_code == 2


def test_render_yaml_is_in_apply_order() -> None:
    """`gpuctl render` prints parseable YAML whose stages follow the apply-order table."""
    from reconciler.render.order import STAGE_NAMES

    result = runner.invoke(app, ["render", str(EXAMPLE)])
    assert result.exit_code == 0, result.stderr
    stages = [line.split()[2] for line in result.stdout.splitlines() if line.startswith("# stage: ")]
    assert stages == sorted(stages, key=STAGE_NAMES.index)
    documents = list(yaml.safe_load_all(result.stdout))
    assert len(documents) == len(stages)
    assert "GPUNodePool" not in {d["kind"] for d in documents}


def test_render_json_and_invalid_repository(tmp_path: Path) -> None:
    """-o json emits stage/source/object records; an invalid repository renders nothing, exit 1."""
    result = runner.invoke(app, ["render", str(EXAMPLE), "-o", "json"])
    records = json.loads(result.stdout)
    assert {"stage", "source", "object"} == set(records[0])
    write_repo(tmp_path, {"a.yaml": "a: [\n"})
    broken = runner.invoke(app, ["render", str(tmp_path)])
    assert broken.exit_code == 1 and broken.stdout == ""


def test_schema_export_writes_json_schemas(tmp_path: Path) -> None:
    """`gpuctl schema --out DIR` writes one JSON Schema per gpuctl kind, with camelCase fields."""
    result = runner.invoke(app, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0
    pool = json.loads((tmp_path / "gpunodepool.json").read_text())
    assert pool["$schema"].endswith("2020-12/schema")
    assert {"nodeSelector", "gpu", "mig", "devicePlugin", "rollout"} <= set(
        pool["$defs"]["GPUNodePoolSpec"]["properties"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gpunodepool.json",
        "settings.json",
        "workloadprofile.json",
    ]


def test_every_command_has_help() -> None:
    """--help works on the app and on each command."""
    for args in ([], ["validate"], ["render"], ["schema"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.stdout


def test_exported_schemas_accept_the_example_and_reject_typos(tmp_path: Path) -> None:
    """The pool schema validates the example pools (durations as strings) and rejects an unknown field."""
    import jsonschema

    runner.invoke(app, ["schema", "--out", str(tmp_path)])
    pool_schema = json.loads((tmp_path / "gpunodepool.json").read_text())
    validator = jsonschema.Draft202012Validator(pool_schema)
    for path in sorted((EXAMPLE / "pools").glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        assert list(validator.iter_errors(document)) == [], path
    document["spec"]["gpu"]["modle"] = "T4"
    assert list(validator.iter_errors(document))
    profile_schema = json.loads((tmp_path / "workloadprofile.json").read_text())
    profile = yaml.safe_load((EXAMPLE / "simulation" / "workload-profile.yaml").read_text())
    assert list(jsonschema.Draft202012Validator(profile_schema).iter_errors(profile)) == []
