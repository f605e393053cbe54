"""The demo's parts on their own: the demo repository (real Git), the node states of the
live rollout table, waiting with deadlines, the pass log, and plain (non-terminal) output."""

import threading

import git
import pytest

from gpuctl.demo.errors import DemoFailure, wait_for
from gpuctl.demo.narration import Narrator
from gpuctl.demo.rollout_watch import NodeState, node_state
from gpuctl.demo.tour import PassLog
from gpuctl.demo.workspace import AUTHOR_EMAIL, BRANCH, DemoRepo, Edit, example_state
from reconciler.daemon.protocols import ReconcileReport, WorkItem
from reconciler.rollout.progress import Phase, phase_patch
from schemas.results import ReconcileOutcome, Trigger

TARGET = "inference-small"


def _node(mig_config="all-balanced", state="success", *, cordoned=False, phase=None):
    node = {"metadata": {"name": "n", "labels": {"nvidia.com/mig.config": mig_config,
                                                   "nvidia.com/mig.config.state": state},
                         "annotations": {}},
            "spec": {"unschedulable": True} if cordoned else {}}
    if phase is not None:
        node["metadata"]["annotations"] = phase_patch(phase, {}, 0.0, "pool")["metadata"]["annotations"]
    return node


@pytest.mark.parametrize(("node", "evicted", "expected"), [
    (_node(), 0, NodeState.WAITING),
    (_node(cordoned=True), 0, NodeState.CORDONED),
    (_node(cordoned=True, phase=Phase.DRAINING), 0, NodeState.CORDONED),
    (_node(cordoned=True, phase=Phase.DRAINING), 1, NodeState.DRAINING),
    (_node(TARGET, "pending", cordoned=True, phase=Phase.CONFIGURING), 2, NodeState.RECONFIGURING),
    (_node(TARGET, "success", cordoned=True), 2, NodeState.RECONFIGURING),
    (_node(TARGET, "pending"), 2, NodeState.RECONFIGURING),
    (_node(TARGET, "failed"), 2, NodeState.FAILED),
    (_node(TARGET, "success"), 2, NodeState.DONE),
    (_node(TARGET, "failed", cordoned=True, phase=Phase.FAILED), 2, NodeState.FAILED),
])
def test_node_state_follows_the_rollout_annotations(node, evicted, expected):
    """A node's table state comes from its rollout phase, cordon, labels and evictions."""
    assert node_state(node, TARGET, evicted) is expected


def test_demo_repo_commits_with_its_own_identity(tmp_path):
    """The demo repository's first commit holds the example, authored by the local identity."""
    repo = DemoRepo(tmp_path / "repo", example_state())
    commit = git.Repo(tmp_path / "repo").head.commit
    assert commit.author.email == AUTHOR_EMAIL
    assert "pools/h100-inference.yaml" in {item.path for item in commit.tree.traverse()}
    assert repo.head == commit.hexsha


def test_commit_edit_and_proposal_branch(tmp_path):
    """An edit is committed on the followed branch; a proposal lands on its own branch only."""
    repo = DemoRepo(tmp_path / "repo", example_state())
    quota = "quotas/resource-quotas.yaml"
    sha = repo.commit_edit(Edit(quota, 'pods: "64"', 'pods: "80"'), "raise")
    assert repo.head == sha
    proposal = repo.propose("proposal/x", Edit(quota, 'pods: "80"', 'pods: "90"'), "try 90")
    raw = git.Repo(tmp_path / "repo")
    assert raw.active_branch.name == BRANCH and raw.head.commit.hexsha == sha
    assert 'pods: "80"' in (tmp_path / "repo" / quota).read_text()
    assert raw.commit("proposal/x").hexsha == proposal
    assert 'pods: "90"' in raw.git.show(f"proposal/x:{quota}")


def test_edit_that_does_not_match_is_refused(tmp_path):
    """An edit whose text is not in the file fails, naming the file, and commits nothing."""
    repo = DemoRepo(tmp_path / "repo", example_state())
    before = repo.head
    with pytest.raises(DemoFailure, match=r"pools/h100-inference.yaml: expected exactly one"):
        repo.commit_edit(Edit("pools/h100-inference.yaml", "config: nothing-like-this", "x"), "m")
    assert repo.head == before


def test_demo_repo_needs_an_empty_directory(tmp_path):
    """The repository is never created over existing files."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "keep.txt").write_text("mine")
    with pytest.raises(DemoFailure, match="not empty"):
        DemoRepo(tmp_path / "repo", example_state())


def test_wait_for_returns_the_value_or_names_what_timed_out():
    """wait_for returns the first truthy value, and fails naming the condition at the deadline."""
    calls = iter([None, 0, "ready"])
    assert wait_for(lambda: next(calls), 5, "it") == "ready"
    with pytest.raises(DemoFailure, match=r"timed out after 0\.1 s waiting for the moon"):
        wait_for(lambda: False, 0.1, "the moon")


def test_pass_log_waits_for_a_matching_pass():
    """PassLog.wait returns a pass reported from another thread, or says which passes it saw."""
    log = PassLog()
    item = WorkItem("abc1234", Trigger.DRIFT)
    report = ReconcileReport("abc1234", ReconcileOutcome.SUCCEEDED)
    threading.Timer(0.05, log.reconciled, (item, report)).start()
    assert log.wait(lambda i, r: i.trigger is Trigger.DRIFT, 5, "drift") == (item, report)
    with pytest.raises(DemoFailure, match=r"waiting for a commit \(passes so far: drift@abc1234=succeeded\)"):
        log.wait(lambda i, r: i.trigger is Trigger.COMMIT, 0.1, "a commit")


def test_plain_live_view_prints_events_then_the_final_table(capsys):
    """Off a terminal, a live view prints each event as a line and its last table once, uncoloured."""
    narrator = Narrator(interactive=False)
    with narrator.live("Rollout", ("node", "state")) as view:
        view.update([("n-0", "cordoned")])
        view.event("n-0: cordoned")
        view.update([("n-0", "done")])
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    event, table = out.index("n-0: cordoned"), out.index("Rollout")
    assert event < table
    assert "done" in out[table:] and "cordoned" not in out[table:]


def test_pass_log_skips_passes_before_since():
    """Passes finished before `since` never satisfy a wait (a drift pass before the edit)."""
    log = PassLog()
    log.reconciled(WorkItem("abc1234", Trigger.DRIFT), ReconcileReport("abc1234", ReconcileOutcome.SUCCEEDED))
    before = log.count()
    with pytest.raises(DemoFailure, match="waiting for a drift pass"):
        log.wait(lambda i, r: i.trigger is Trigger.DRIFT, 0.1, "a drift pass", since=before)
    log.reconciled(WorkItem("abc1234", Trigger.DRIFT), ReconcileReport("abc1234", ReconcileOutcome.NOOP))
    _, report = log.wait(lambda i, r: i.trigger is Trigger.DRIFT, 1, "a drift pass", since=before)
    assert report.outcome is ReconcileOutcome.NOOP


def test_rollout_deadline_grows_with_waves_and_slower_sandboxes():
    """The rollout deadline covers each wave's MIG reconfiguration at the chosen speed."""
    from gpuctl.demo.steps import rollout_timeout

    fast = rollout_timeout(4, 1, 60.0)
    assert fast < rollout_timeout(4, 1, 1.0)
    assert rollout_timeout(4, 2, 60.0) < fast
    assert rollout_timeout(4, 1, 1.0) > 4 * 45  # four 45 s reconfigurations in real time


def test_daemon_logs_go_to_the_file_and_the_configuration_comes_back(tmp_path):
    """While the tour runs, structlog writes JSON lines to its log file; afterwards the
    previous logging configuration is back and no handler is left on a closed file."""
    import logging
    from contextlib import ExitStack

    import structlog

    from gpuctl.demo.tour import DemoOptions, Tour

    before = structlog.get_config()
    handlers = list(logging.getLogger().handlers)
    with ExitStack() as stack:
        tour = Tour(DemoOptions(keep=tmp_path / "kept"), Narrator(interactive=False), stack)
        tour.route_logs_to_file()
        structlog.get_logger("gpuctl.test").info("reconcile finished", changed=3)
        assert '"event": "reconcile finished"' in "\n".join(tour.log_tail())
    assert structlog.get_config() == before
    assert logging.getLogger().handlers == handlers


def test_cli_refuses_a_non_empty_keep_directory(tmp_path):
    """`gpuctl demo --keep DIR` with files in DIR is a usage error (exit 2), touching nothing."""
    from typer.testing import CliRunner

    from gpuctl.cli import app

    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a new or empty directory" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
