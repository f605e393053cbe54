"""`gpuctl simulate --repo R --base A --head B`: real temporary Git repositories, the gate's
exit codes, the report files, and directories instead of revisions."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import pytest
from typer.testing import CliRunner

from gpuctl.cli import app
from tests.simulator.premerge.conftest import EXAMPLE, H100_POOL, Commit, drop_mig_3g, neutral_edit

runner = CliRunner()
GATE = [
    "--fail-if",
    "queue_wait_p95 > +20%",
    "--fail-if",
    "gpu_allocation < -5pp",
    "--fail-if",
    "unschedulable > 0",
]
FAST = ["--horizon", "2d", "--seeds", "4", "--backend", "inline"]


def _compare(repo: Path, base: str, head: str, *extra: str) -> tuple[int, str, str]:
    done = runner.invoke(
        app,
        ["simulate", "--repo", str(repo), "--path", "desired_state", "--base", base, "--head", head, *extra],
    )
    return done.exit_code, done.stdout, done.stderr


@pytest.mark.slow
def test_harmful_change_fails_the_gate_naming_the_rule(
    example_repo: tuple[Path, Commit], tmp_path: Path
) -> None:
    """Removing the MIG 3g instances team llm depends on breaches `unschedulable > 0` (exit 1), and
    the GPU those jobs no longer hold shows as lost allocation over the horizon."""
    repo, commit = example_repo
    head = commit({H100_POOL: drop_mig_3g}, "h100: 1g slices only")
    code, out, err = _compare(repo, "HEAD~1", head, *FAST, *GATE, "--out", str(tmp_path / "out"))
    assert code == 1, out + err
    assert "gate failed: --fail-if 'unschedulable > 0'" in err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert any(
        w.startswith("team llm requests nvidia.com/mig-3g.40gb but no pool advertises it after this change")
        for w in report["warnings"]
    )
    assert report["metrics"]["unschedulable"]["significant"] is True
    breached = [g["rule"] for g in report["gate"] if g["breached"]]
    assert breached == ["gpu_allocation < -5pp", "unschedulable > 0"]
    assert report["rollout"][0]["pool"] == "h100-inference"
    assert report["rollout"][0]["batches"] == 4


@pytest.mark.slow
def test_neutral_change_shows_no_significant_difference(
    example_repo: tuple[Path, Commit], tmp_path: Path
) -> None:
    """A comment and a label change nothing: every difference is exactly zero and the gate passes."""
    repo, commit = example_repo
    head = commit({H100_POOL: neutral_edit}, "label the pool")
    code, out, err = _compare(repo, "HEAD~1", head, *FAST, *GATE, "--out", str(tmp_path / "out"))
    assert code == 0, out + err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["warnings"] == []
    assert report["rollout"] == []
    for name, figure in report["metrics"].items():
        assert figure["significant"] is False, name
        assert figure["diff"] in (0.0, None), name


@pytest.mark.slow
def test_report_files_are_written_and_pngs_decode(example_repo: tuple[Path, Commit], tmp_path: Path) -> None:
    """--out holds report.md (summary table first), report.json (schema) and three decodable PNGs."""
    repo, commit = example_repo
    head = commit({H100_POOL: drop_mig_3g}, "h100: 1g slices only")
    out = tmp_path / "out"
    code, stdout, stderr = _compare(
        repo, "HEAD~1", head, "--horizon", "1d", "--seeds", "2", "--out", str(out)
    )
    assert code == 0, stdout + stderr  # no --fail-if: a harmful change still exits 0
    markdown = (out / "report.md").read_text()
    assert markdown.startswith("## Capacity simulation: `HEAD~1@")
    assert "| unschedulable | 0 |" in markdown
    assert "↑ worse" in markdown
    assert json.loads((out / "report.json").read_text())["schema"] == "gpuctl.dev/simulate-compare/v1"
    for name in ("allocation.png", "queue_wait_cdf.png", "fragmentation.png"):
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, name


def test_directories_instead_of_revisions(tmp_path: Path) -> None:
    """--base DIR --head DIR compares two working copies; the same directory gives zero change."""
    args = ["--horizon", "12h", "--seeds", "2", "--backend", "inline", "--fail-if", "unschedulable > 0"]
    done = runner.invoke(
        app, ["simulate", "--base", str(EXAMPLE), "--head", str(EXAMPLE), *args, "--out", str(tmp_path)]
    )
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "report.json").read_text())["metrics"]["gpu_allocation"]["diff"] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-if", "queue_wait_p95 >> 20%"], "expected METRIC OP THRESHOLD"),
        (["--fail-if", "queue_wait_p95 > 5pp"], "'pp' applies to percent figures"),
        (["--fail-if", "speed > 1"], "unknown figure 'speed'"),
        (["--horizon", "soon"], "--horizon 'soon'"),
        (["--policy", "nope"], "unknown --policy 'nope'"),
    ],
)
def test_bad_options_exit_2_with_the_reason(args: list[str], message: str) -> None:
    """Malformed rules and options are errors (exit 2) that say what is wrong."""
    done = runner.invoke(app, ["simulate", "--base", str(EXAMPLE), "--head", str(EXAMPLE), *args])
    assert done.exit_code == 2, done.output
    assert message in done.stderr


def test_unknown_revision_exits_2(example_repo: tuple[Path, Commit]) -> None:
    """A revision the repository does not have is an error (exit 2), not a crash."""
    repo, _ = example_repo
    code, out, err = _compare(repo, "HEAD", "no-such-branch", "--seeds", "2")
    assert code == 2, out + err
    assert "no-such-branch" in err


def test_plain_simulate_form_still_works() -> None:
    """`gpuctl simulate PATH` keeps its own options (the group routes it unchanged)."""
    done = runner.invoke(app, ["simulate", str(EXAMPLE), "--seeds", "1", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["summary"]["runs"] == 1


@pytest.mark.slow
def test_quota_cut_is_an_admission_limit(example_repo: tuple[Path, Commit], tmp_path: Path) -> None:
    """Cutting the inference ClusterQueue's 3g quota to 1 leaves the 2-pod RayCluster group
    unadmittable (a warning with Kueue's reason) and breaches a team wait rule."""
    repo, commit = example_repo

    def cut(text: str) -> str:
        old = "{name: nvidia.com/mig-3g.40gb, nominalQuota: 32, borrowingLimit: 0}"
        assert old in text
        return text.replace(old, old.replace("32", "1"))

    head = commit({"desired_state/quotas/cluster-queues.yaml": cut}, "inference: one 3g slice")
    rule = ["--fail-if", "team.llm.queue_wait_p95 > +10%"]
    code, out, err = _compare(repo, "HEAD~1", head, *FAST, *rule, "--out", str(tmp_path))
    assert code == 1, out + err
    report = json.loads((tmp_path / "report.json").read_text())
    assert (
        "1 job cannot be scheduled after this change: needs 2 nvidia.com/mig-3g.40gb; ClusterQueue inference "
        "can admit at most 1" in report["warnings"]
    )
    assert report["rollout"] == []


@pytest.mark.slow
def test_shared_itp_trace_with_more_training_nodes(example_repo: tuple[Path, Commit], traces: Path) -> None:
    """The ElasticFlow ITP trace (compressed 20×) on two more A100 nodes: p95 wait falls, significantly."""
    repo, commit = example_repo

    def grow(text: str) -> str:
        assert "  nodes: 6\n" in text
        return text.replace("  nodes: 6\n", "  nodes: 8\n")

    head = commit({"desired_state/pools/a100-training.yaml": grow}, "two more training nodes")
    trace = traces / "elasticflow-itp" / "cluster10.csv"
    args = ["--trace", str(trace), "--trace-format", "itp", "--time-scale", "0.05", "--no-standing"]
    gate = ["--fail-if", "queue_wait_p95 < -10%", "--fail-if", "unschedulable > 0"]
    code, out, err = _compare(repo, "HEAD~1", head, *args, "--seeds", "3", "--backend", "inline", *gate)
    assert code == 1, out + err
    assert "gate failed: --fail-if 'queue_wait_p95 < -10%'" in err
    assert "unschedulable > 0" not in err


def test_profile_trace_is_read_from_the_revision(example_repo: tuple[Path, Commit], tmp_path: Path) -> None:
    """A WorkloadProfile naming a trace file replays that file as committed, even when the
    working tree no longer has it."""
    repo, commit = example_repo
    rows = "".join(f"j{i},{i * 60},{600 + i},1,8,nvidia.com/gpu,,,,vision\n" for i in range(40))
    trace = "job_id,arrival,duration,pods,gpus,resource,gpu_milli,cpu_milli,memory_mib,team\n" + rows
    profile = (
        "apiVersion: gpuctl.dev/v1alpha1\nkind: WorkloadProfile\nmetadata:\n  name: replay-trace\n"
        "spec:\n  trace: {file: simulation/jobs.csv, format: csv}\n"
    )
    files = {"desired_state/simulation/jobs.csv": trace, "desired_state/simulation/replay.yaml": profile}
    for name, text in files.items():
        (repo / name).write_text(text)
    head = commit({name: lambda text: text for name in files}, "a trace to replay")
    (repo / "desired_state/simulation/jobs.csv").unlink()
    args = [
        "--workload",
        "replay-trace",
        "--seeds",
        "2",
        "--no-standing",
        "--backend",
        "inline",
        "--out",
        str(tmp_path),
    ]
    code, out, err = _compare(repo, head, head, *args)
    assert code == 0, out + err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["inputs"]["workload"] == "WorkloadProfile/replay-trace"
    assert report["metrics"]["completed"]["base"] == 40
