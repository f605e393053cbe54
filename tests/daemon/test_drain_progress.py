"""The daemon hears about a drain that a PodDisruptionBudget blocks while the pass waits: its
drain observer (log, Node Event, /status) is built for the revision being applied and is told
the pod and the budget's refusal."""

from __future__ import annotations

import time

import pytest

from reconciler.daemon.daemon import RepoLocation
from reconciler.daemon.protocols import WorkItem
from reconciler.daemon.runner import PipelineRunner
from reconciler.rollout.drain_progress import DrainBoard, DrainObserver, DrainReport
from schemas.results import ReconcileOutcome, Trigger
from tests.daemon.test_runner import POOL, commit, engine  # noqa: F401  (engine is a fixture)


class Recording(DrainBoard):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[DrainReport] = []

    def drain_blocked(self, report: DrainReport) -> None:
        super().drain_blocked(report)
        self.seen.append(report)


@pytest.mark.slow
def test_blocked_drain_reaches_the_daemons_observer(engine):  # noqa: F811
    """A PDB-blocked drain is reported for the pass's revision, naming the pod and the budget."""
    repo, client, audit, tmp_path = engine
    revisions: list[str] = []
    board = Recording()

    def observer(revision: str) -> DrainObserver:
        revisions.append(revision)
        return board

    runner = PipelineRunner(
        RepoLocation(tmp_path / "repo", "", False), client, audit, drain_observer=observer
    )
    assert runner.reconcile(WorkItem(repo.head.commit.hexsha, Trigger.STARTUP), lambda: False).outcome in (
        ReconcileOutcome.SUCCEEDED, ReconcileOutcome.NOOP)  # fmt: skip
    pod = {
        "metadata": {"name": "critical", "labels": {"app": "critical"}},
        "spec": {
            "containers": [
                {"name": "c", "image": "x", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "1"}}}
            ],
            "nodeSelector": {"gpuctl.dev/pool": "h100-inference"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
    }
    budget = {"metadata": {"name": "critical"},
              "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "critical"}}}}  # fmt: skip
    client.apply(
        {"apiVersion": "v1", "kind": "Pod", **pod, "metadata": {**pod["metadata"], "namespace": "team-llm"}}
    )
    client.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                  **budget, "metadata": {**budget["metadata"], "namespace": "team-llm"}})  # fmt: skip
    deadline = time.monotonic() + 30
    while ((client.get("v1", "Pod", "critical", "team-llm") or {}).get("status") or {}).get(
        "phase"
    ) != "Running":
        assert time.monotonic() < deadline, "the pod did not start"
        time.sleep(0.05)
    commit(repo, POOL, "drainTimeout: 10m", "drainTimeout: 3s", "short drain")
    sha = commit(repo, POOL, "config: all-balanced", "config: inference-small", "mig change")
    report = runner.reconcile(WorkItem(sha, Trigger.COMMIT), lambda: False)
    assert report.outcome is ReconcileOutcome.FAILED
    assert revisions[-1] == sha
    [first, *_] = [r for r in board.seen if r.pods]
    assert [p.name for p in first.pods] == ["critical"]
    assert "disruption budget critical" in first.pods[0].refusal
    assert board.snapshot() == []  # the drain ended (timed out): nothing blocked any more
