"""`gpuctl simulate`: inputs from a repository or from trace files, JSON output and files,
and exit codes (0 ok, 1 invalid repository or failed run, 2 usage or bad input file)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from gpuctl.cli import app
from tests.simulator.conftest import REPO_ROOT

runner = CliRunner()
NODES = "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,65536,2,T4\nn1,32000,65536,4,V100M16\n"
PODS = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
    "p0,4000,1024,1,1000,,LS,Running,0,100,0\n"
    "p1,2000,1024,1,500,,BE,Running,10,50,10\n"
    "p2,2000,1024,0,0,,BE,Running,20,80,20\n"
    "p3,4000,1024,2,1000,V100M16,LS,Running,30,90,30\n"
)


def _openb_files(tmp_path: Path) -> tuple[Path, Path]:
    nodes, pods = tmp_path / "nodes.csv", tmp_path / "pods.csv"
    nodes.write_text(NODES)
    pods.write_text(PODS)
    return nodes, pods


def test_example_repository_profile_replays() -> None:
    """The example repository's one WorkloadProfile replays on its pools, two seeds, JSON out."""
    done = runner.invoke(
        app, ["simulate", str(REPO_ROOT / "desired_state"), "--seeds", "2", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert [r["seed"] for r in payload["runs"]] == [42, 43]
    first = payload["runs"][0]
    assert first["cluster"]["gpus"] == 96 and first["error"] is None
    assert first["metrics"]["jobs"]["completed"] > 0
    assert (
        first["metrics"]["effective_utilisation"] <= first["metrics"]["gpu_allocation"]["time_weighted_mean"]
    )
    assert payload["summary"]["runs"] == 2


def test_inflate_from_trace_files_writes_results(tmp_path: Path) -> None:
    """An openb node list and pod list run the inflate protocol; --out gets one file per seed."""
    nodes, pods = _openb_files(tmp_path)
    out = tmp_path / "out"
    args = ["simulate", "--nodes", str(nodes), "--trace", str(pods), "--trace-format", "openb"]
    done = runner.invoke(
        app, [*args, "--mode", "inflate", "--policy", "fgd", "--seeds", "2", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "unallocated_gpu_pct_at_100" in done.stdout
    written = sorted(p.name for p in out.iterdir())
    assert written == ["inflate-fgd-seed0.json", "inflate-fgd-seed1.json", "summary.json"]
    result = json.loads((out / "inflate-fgd-seed0.json").read_text())
    assert result["schema"] == "gpuctl.dev/simulate-result/v1"
    assert result["metrics"]["curve"]["arrived_pct"][-1] == 130.0


def test_bad_trace_row_exits_2_with_file_and_line(tmp_path: Path) -> None:
    """A malformed pod row stops the command with exit 2 and the file:line of the row."""
    nodes, pods = _openb_files(tmp_path)
    pods.write_text(PODS.replace("p2,2000,1024,0,0", "p2,2000,lots,0,0"))
    done = runner.invoke(
        app, ["simulate", "--nodes", str(nodes), "--trace", str(pods), "--trace-format", "openb"]
    )
    assert done.exit_code == 2
    assert f"{pods}:4: memory_mib 'lots' is not a number" in done.output


def test_unknown_policy_exits_2() -> None:
    """An unknown --policy is a usage error that lists the valid ones."""
    done = runner.invoke(app, ["simulate", str(REPO_ROOT / "desired_state"), "--policy", "tetris"])
    assert done.exit_code == 2
    assert "choose one of k8s-default, bin-pack" in done.output


def test_invalid_repository_exits_1(tmp_path: Path) -> None:
    """A repository that does not validate is not simulated: exit 1."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "desired_state", repo)
    pool = repo / "pools" / "t4-notebooks.yaml"
    pool.write_text(pool.read_text().replace("perNode: 4", "perNode: many"))
    done = runner.invoke(app, ["simulate", str(repo)])
    assert done.exit_code == 1
    assert "invalid repository" in done.output


def test_json_is_byte_identical_across_processes() -> None:
    """Two processes with different hash seeds print the same JSON for the same inputs and seed."""
    import os
    import subprocess
    import sys

    outputs = []
    for hash_seed in ("1", "2"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gpuctl",
                "simulate",
                "desired_state",
                "--policy",
                "fgd",
                "--queue",
                "best-effort-fifo",
                "--format",
                "json",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]


def test_repository_quotas_govern_admission(tmp_path: Path) -> None:
    """With the training ClusterQueue cut to 8 GPUs, the 16-GPU gangs of the example profile are
    reported as never admissible, with the queue named."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "desired_state", repo)
    queues = repo / "quotas" / "cluster-queues.yaml"
    text = queues.read_text()
    assert "{name: nvidia.com/gpu, nominalQuota: 48}" in text
    queues.write_text(
        text.replace("{name: nvidia.com/gpu, nominalQuota: 48}", "{name: nvidia.com/gpu, nominalQuota: 8}")
    )
    done = runner.invoke(app, ["simulate", str(repo), "--format", "json"])
    assert done.exit_code == 0, done.output
    reasons = json.loads(done.stdout)["runs"][0]["metrics"]["jobs"]["unschedulable_reasons"]
    assert list(reasons) == ["needs 16 nvidia.com/gpu; ClusterQueue training can admit at most 8"]
