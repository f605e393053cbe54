"""Operating rollouts on a fake cluster: drain progress told while blocked, the waiting taint
on queued nodes, fewest-pods-first order, and the retry / abort / pause / resume commands."""

from __future__ import annotations

from itertools import pairwise

from reconciler.apply.recorder import ChangeRecorder
from reconciler.rollout import commands
from reconciler.rollout.drain_progress import REPORT_INTERVAL, DrainBoard, DrainEvents, DrainReport
from reconciler.rollout.node_state import APPLIED_TAINTS
from reconciler.rollout.progress import CORDONED_BY, PHASE, POOL, Progress
from reconciler.rollout.runner import RolloutRunner
from reconciler.rollout.status_view import rollout_status
from reconciler.rollout.targets import MIG_CONFIG, MIG_CONFIG_STATE
from reconciler.rollout.waiting_taint import has_taint
from reconciler.testing import ManualClock
from schemas.refs import ObjectRef
from schemas.results import Action
from tests.reconciler.rollout_fixtures import MigManager, WatchedCluster, gpu_pod, node, pool


class Observer:
    def __init__(self) -> None:
        self.reports: list[DrainReport] = []
        self.ended: list[str] = []

    def drain_blocked(self, report: DrainReport) -> None:
        self.reports.append(report)

    def drain_ended(self, pool: str, node: str, *, drained: bool) -> None:
        self.ended.append(node)


def _setup(count: int) -> tuple[WatchedCluster, ManualClock]:
    cluster = WatchedCluster([node(f"h100-{i}") for i in range(count)])
    clock = ManualClock()
    clock.on_sleep.append(MigManager(cluster))
    return cluster, clock


def test_blocked_drain_is_reported_then_named_in_the_timeout() -> None:
    """A refused eviction is told at once and every interval; the timeout names the pod."""
    cluster, clock = _setup(1)
    cluster.put(gpu_pod("train-0", "h100-0"))
    cluster.pdb_blocked.add("train-0")
    observer = Observer()
    runner = RolloutRunner(cluster, clock, ChangeRecorder(), drain_observer=observer)
    [report] = runner.run([pool(drainTimeout="35s")])
    assert list(report.failed) == ["h100-0"]
    assert (
        "drain timed out after 35s: 1 GPU pods remain: Pod/ml/train-0 (eviction refused"
        in report.failed["h100-0"]
    )
    times = [r.elapsed for r in observer.reports]
    assert times[0] == 0.0 and len(times) == 4  # at the first refusal, then at 10, 20 and 30 s
    assert all(later - earlier >= REPORT_INTERVAL for earlier, later in pairwise(times))
    assert [p.name for p in observer.reports[0].pods] == ["train-0"]
    assert observer.ended == ["h100-0"]


def test_waiting_nodes_are_tainted_and_fewest_pods_go_first() -> None:
    """Queued nodes carry the PreferNoSchedule taint while they wait; the empty node rolls first;
    at the end no node carries the taint or its record."""
    cluster, clock = _setup(3)
    cluster.put(gpu_pod("a", "h100-0"))
    cluster.put(gpu_pod("b", "h100-1"))
    cluster.put(gpu_pod("c", "h100-1"))
    seen: list[set[str]] = []
    clock.on_sleep.append(lambda _: seen.append({n for n in ("h100-0", "h100-1", "h100-2")
                                                 if has_taint(cluster.node(n))}))  # fmt: skip
    recorder = ChangeRecorder()
    [report] = RolloutRunner(cluster, clock, recorder).run([pool(max_unavailable=1)])
    assert report.rolled == ["h100-2", "h100-0", "h100-1"]
    assert seen[0] == {"h100-0", "h100-1"}
    for name in ("h100-0", "h100-1", "h100-2"):
        n = cluster.node(name)
        assert not has_taint(n) and "rollout-waiting" not in n["metadata"]["annotations"].get(
            APPLIED_TAINTS, ""
        )
        assert POOL not in n["metadata"]["annotations"]
    assert sum(1 for e in recorder.changes.entries if e.action is Action.EVICTED) == 3


def test_paused_pool_is_left_alone_until_resumed() -> None:
    """Paused: no write and a `paused` report; resumed: the next run rolls the pool."""
    cluster, clock = _setup(2)
    recorder = ChangeRecorder()
    nodes = commands.pool_nodes(cluster, "h100", [pool()])
    assert len(commands.pause(cluster, recorder, "h100", nodes, who="alice")) == 2
    writes = len(cluster.writes)
    [report] = RolloutRunner(cluster, clock, recorder).run([pool()])
    assert report.paused and sorted(report.queue) == ["h100-0", "h100-1"] and len(cluster.writes) == writes
    statuses = rollout_status(cluster, [pool()], "h100")
    assert [s.phase for s in statuses] == ["pending", "pending"] and all(s.paused for s in statuses)
    commands.resume(cluster, recorder, "h100", commands.pool_nodes(cluster, "h100", [pool()]))
    [report] = RolloutRunner(cluster, clock, recorder).run([pool()])
    assert sorted(report.rolled) == ["h100-0", "h100-1"] and not report.paused


def test_abort_uncordons_clears_annotations_keeps_labels_and_pauses() -> None:
    """Abort after a failure: gpuctl's cordon and annotations go, labels stay, the pool is paused."""
    cluster, clock = _setup(3)
    cluster.put(gpu_pod("stuck", "h100-0"))
    cluster.pdb_blocked.add("stuck")
    runner = RolloutRunner(cluster, clock, ChangeRecorder())
    [report] = runner.run([pool(max_unavailable=1, drainTimeout="5s", onFailure="halt")])
    assert list(report.failed) == ["h100-0"] and report.rolled == ["h100-1", "h100-2"]
    done = commands.abort(cluster, ChangeRecorder(), "h100", commands.pool_nodes(cluster, "h100"), who="bob")
    assert {d.node for d in done if d.action is Action.UNCORDONED} == {"h100-0"}
    failed = cluster.node("h100-0")
    assert not failed["spec"].get("unschedulable") and Progress.of(failed).phase is None
    assert CORDONED_BY not in failed["metadata"]["annotations"]
    assert failed["metadata"]["labels"][MIG_CONFIG] == "all-disabled"
    assert commands.is_paused([failed])


def test_retry_restarts_a_failed_node_and_clears_a_stale_mig_failure() -> None:
    """retry: failed → draining, stale mig.config.state=failed removed; the next run finishes it."""
    cluster, clock = _setup(1)
    cluster.put(gpu_pod("stuck", "h100-0"))
    cluster.pdb_blocked.add("stuck")
    recorder = ChangeRecorder()
    [report] = RolloutRunner(cluster, clock, recorder).run([pool(drainTimeout="5s")])
    assert report.failed
    cluster.node("h100-0")["metadata"]["labels"][MIG_CONFIG_STATE] = "failed"
    cluster.pdb_blocked.clear()
    [retried] = commands.retry(
        cluster, recorder, "h100", commands.pool_nodes(cluster, "h100"), now=clock.now()
    )
    assert retried.node == "h100-0"
    n = cluster.node("h100-0")
    assert (
        n["metadata"]["annotations"][PHASE] == "draining" and MIG_CONFIG_STATE not in n["metadata"]["labels"]
    )
    [report] = RolloutRunner(cluster, clock, recorder).run([pool()])
    assert report.rolled == ["h100-0"] and not report.failed


def test_retry_of_a_node_that_did_not_fail_is_refused() -> None:
    """Naming a node with no failed rollout is an error, not a silent no-op."""
    cluster, _ = _setup(1)
    try:
        commands.retry(cluster, ChangeRecorder(), "h100", commands.pool_nodes(cluster, "h100", [pool()]),
                       now=0.0, only="h100-0")  # fmt: skip
    except commands.RolloutCommandError as exc:
        assert "Node/h100-0 has no failed rollout" in str(exc)
    else:
        raise AssertionError("retry of a healthy node was accepted")


def test_drain_reports_reach_events_and_the_status_board() -> None:
    """A report becomes a Warning Event on the Node and a /status entry until the drain ends."""
    posted: list[tuple[ObjectRef, str, str, bool]] = []

    class Poster:
        def record(
            self, ref: ObjectRef, *, reason: str, message: str, revision: str, warning: bool = False
        ) -> bool:
            posted.append((ref, reason, message, warning))
            return True

    report = DrainReport("h100", "h100-0", 12.0, 600.0, ())
    DrainEvents(Poster(), "abc").drain_blocked(report)
    [(ref, reason, message, warning)] = posted
    assert (str(ref), reason, warning) == (
        "Node/h100-0",
        "DrainBlocked",
        True,
    ) and "draining for 12s" in message
    board = DrainBoard()
    board.drain_blocked(report)
    assert [entry["node"] for entry in board.snapshot()] == ["h100-0"]
    board.drain_ended("h100", "h100-0", drained=True)
    assert board.snapshot() == []
