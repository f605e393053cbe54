"""The engine adapter: the stoppable clock, and PipelineRunner against the sandbox — an
invalid revision is recorded and applies nothing, working-tree mode applies uncommitted
edits, and a newer revision interrupts a rollout that the next pass then finishes."""

import threading
import time
from pathlib import Path

import pytest

import sandbox
from reconciler.audit import SqliteAuditLog
from reconciler.audit.query import AuditReader
from reconciler.clock import SystemClock
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.daemon.daemon import RepoLocation
from reconciler.daemon.protocols import WorkItem
from reconciler.daemon.runner import PassInterrupted, PipelineRunner, StoppableClock
from reconciler.source import load_directory
from schemas.results import ReconcileOutcome, Trigger
from tests.daemon.gitrepos import AUTHOR
from tests.daemon.processes import example_repo

POOL = "pools/h100-inference.yaml"
QUOTA = "quotas/resource-quotas.yaml"


def test_stoppable_clock_sleeps_until_told_to_stop():
    """Sleeps run their course while should_stop is false and end with PassInterrupted after."""
    stop = threading.Event()
    clock = StoppableClock(SystemClock(), stop.is_set)
    clock.sleep(0.01)
    threading.Timer(0.05, stop.set).start()
    with pytest.raises(PassInterrupted):
        clock.sleep(60)


@pytest.fixture
def engine(tmp_path):
    repo = example_repo(tmp_path / "repo")
    state = load_directory(tmp_path / "repo").state
    with sandbox.start(sandbox.SandboxSpec.from_state(state), speed=20) as cluster:
        client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(cluster.kubeconfig_path)))
        audit = SqliteAuditLog(tmp_path / "audit.db")
        try:
            yield repo, client, audit, tmp_path
        finally:
            audit.close()
            client.close()


def commit(repo, rel: str, old: str, new: str, message: str) -> str:
    path = Path(repo.working_tree_dir or ".") / rel
    path.write_text(path.read_text().replace(old, new))
    repo.index.add([rel])
    return repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha


@pytest.mark.slow
def test_invalid_revision_is_recorded_and_applies_nothing(engine):
    """A revision failing validation yields INVALID, is audited, and writes nothing."""
    repo, client, audit, tmp_path = engine
    runner = PipelineRunner(RepoLocation(tmp_path / "repo", "", False), client, audit)
    first = runner.reconcile(WorkItem(repo.head.commit.hexsha, Trigger.STARTUP), lambda: False)
    assert first.outcome is ReconcileOutcome.SUCCEEDED
    bad = commit(repo, POOL, "config: all-balanced", "config: no-such-layout", "typo")
    writes = sum(client.requests.get(m, 0) for m in ("PATCH", "POST", "PUT", "DELETE"))
    report = runner.reconcile(WorkItem(bad, Trigger.COMMIT), lambda: False)
    assert report.outcome is ReconcileOutcome.INVALID and "mig-config-unknown" in (report.error or "")
    assert not report.retryable
    assert sum(client.requests.get(m, 0) for m in ("PATCH", "POST", "PUT", "DELETE")) == writes
    with AuditReader(tmp_path / "audit.db") as reader:
        assert reader.reconciles(1)[0].outcome == "invalid"


@pytest.mark.slow
def test_working_tree_mode_applies_uncommitted_edits(engine):
    """In working-tree mode the runner loads the files as they are on disk."""
    _, client, audit, tmp_path = engine
    runner = PipelineRunner(RepoLocation(tmp_path / "repo", "", True), client, audit)
    path = tmp_path / "repo" / QUOTA
    path.write_text(path.read_text().replace('pods: "64"', 'pods: "70"'))
    report = runner.reconcile(WorkItem("worktree:x", Trigger.COMMIT), lambda: False)
    assert report.outcome is ReconcileOutcome.SUCCEEDED
    assert client.get("v1", "ResourceQuota", "gpu-cap", "team-research")["spec"]["hard"]["pods"] == "70"


@pytest.mark.slow
def test_newer_revision_interrupts_a_rollout_that_the_next_pass_finishes(engine):
    """Stopping during a rollout wait ends the pass early; the next pass completes the rollout."""
    repo, client, audit, tmp_path = engine
    pictures: list[dict[str, dict[str, int]]] = []
    runner = PipelineRunner(RepoLocation(tmp_path / "repo", "", False), client, audit,
                            on_rollout=pictures.append)
    runner.reconcile(WorkItem(repo.head.commit.hexsha, Trigger.STARTUP), lambda: False)
    layout = commit(repo, POOL, "config: all-balanced", "config: inference-small", "new layout")
    started = time.monotonic()
    report = runner.reconcile(WorkItem(layout, Trigger.COMMIT), lambda: time.monotonic() - started > 1.0)
    assert report.interrupted and not report.retryable
    # While the pass waited, the live picture showed the pool's nodes mid-rollout.
    assert any(p["h100-inference"]["draining"] + p["h100-inference"]["configuring"] >= 1 for p in pictures)
    newer = commit(repo, QUOTA, 'pods: "64"', 'pods: "65"', "unrelated change")
    final = runner.reconcile(WorkItem(newer, Trigger.COMMIT), lambda: False)
    assert final.outcome is ReconcileOutcome.SUCCEEDED, final.error
    nodes = [n for n in client.list_objects("v1", "Node")
             if n["metadata"]["labels"].get("gpuctl.dev/pool") == "h100-inference"]
    assert {n["metadata"]["labels"]["nvidia.com/mig.config"] for n in nodes} == {"inference-small"}
    assert not any(n["spec"].get("unschedulable") for n in nodes)
    assert final.rollout_nodes["h100-inference"] == {
        "pending": 0, "draining": 0, "configuring": 0, "failed": 0, "done": 4}


@pytest.mark.slow
def test_writes_stop_at_once_when_writing_is_no_longer_allowed(engine):
    """Once may_write turns false the pass makes no further write and reports interrupted;
    the audit record of the pass is closed, not left open."""
    repo, client, audit, tmp_path = engine
    runner = PipelineRunner(RepoLocation(tmp_path / "repo", "", False), client, audit)

    def writes() -> int:
        return sum(client.requests.get(m, 0) for m in ("PATCH", "POST", "PUT", "DELETE"))

    before = writes()
    report = runner.reconcile(WorkItem(repo.head.commit.hexsha, Trigger.STARTUP), lambda: False,
                              lambda: writes() - before < 3)
    assert report.interrupted
    assert writes() - before == 3
    with AuditReader(tmp_path / "audit.db") as reader:
        (last,) = reader.reconciles(1)
    assert last.outcome == "failed" and "interrupted" in (last.error or "")
    assert last.changes == 3
