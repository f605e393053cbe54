"""GPU node rollouts: maxUnavailable, drain, MIG wait, failure halting, resume from annotations."""

from __future__ import annotations

from reconciler.apply.recorder import ChangeRecorder
from reconciler.rollout.progress import CORDONED_BY, FAILURE, PHASE, Progress
from reconciler.rollout.runner import RolloutRunner
from reconciler.rollout.targets import MIG_CONFIG, PoolOverlapError, assign_nodes
from reconciler.testing import ManualClock, RecordingAuditSink
from schemas.results import Action, ReconcileOutcome, RevisionInfo, Trigger
from tests.reconciler.rollout_fixtures import MigManager, WatchedCluster, gpu_pod, node, pool


def _setup(count: int, failing: set[str] | None = None) -> tuple[WatchedCluster, ManualClock, MigManager]:
    cluster = WatchedCluster([node(f"h100-{i}") for i in range(count)])
    clock = ManualClock()
    manager = MigManager(cluster, failing)
    clock.on_sleep.append(manager)
    cluster.on_write = manager.watch
    return cluster, clock, manager


def test_rollout_never_exceeds_max_unavailable() -> None:
    """Eight nodes with maxUnavailable 2: all relabelled, never more than 2 cordoned at once."""
    cluster, clock, manager = _setup(8)
    runner = RolloutRunner(cluster, clock, ChangeRecorder(), poll_interval=1.0)
    [report] = runner.run([pool(max_unavailable=2)])
    assert sorted(report.rolled) == [f"h100-{i}" for i in range(8)]
    assert manager.max_cordoned == 2
    for i in range(8):
        n = cluster.node(f"h100-{i}")
        assert n["metadata"]["labels"][MIG_CONFIG] == "all-1g.10gb"
        assert not n["spec"].get("unschedulable")
        assert Progress.of(n).phase is None


def test_gpu_pods_are_evicted_before_relabel() -> None:
    """A node's GPU pods are evicted, and the label is set only once none remain."""
    cluster, clock, _ = _setup(1)
    cluster.put(gpu_pod("train-0", "h100-0"))
    cluster.pdb_blocked.add("train-0")

    def release(c: ManualClock) -> None:
        if c.slept >= 3 and "train-0" in cluster.pdb_blocked:
            assert cluster.node("h100-0")["metadata"]["labels"][MIG_CONFIG] == "all-disabled"
            cluster.pdb_blocked.discard("train-0")

    clock.on_sleep.insert(0, release)
    recorder = ChangeRecorder()
    [report] = RolloutRunner(cluster, clock, recorder).run([pool()])
    assert report.rolled == ["h100-0"]
    actions = [e.action for e in recorder.changes.entries]
    assert actions == [Action.CORDONED, Action.EVICTED, Action.RELABELLED, Action.UNCORDONED]


def test_failed_mig_manager_halts_the_pool() -> None:
    """A `failed` MIG state halts the pool, leaves that node cordoned with the reason."""
    cluster, clock, _ = _setup(4, failing={"h100-0"})
    recorder = ChangeRecorder()
    [report] = RolloutRunner(cluster, clock, recorder).run([pool(max_unavailable=1)])
    assert report.halted and list(report.failed) == ["h100-0"]
    assert report.rolled == []
    failed = cluster.node("h100-0")
    assert failed["spec"]["unschedulable"] is True
    assert "MIG manager reported failed" in failed["metadata"]["annotations"][FAILURE]
    assert cluster.node("h100-1")["metadata"]["labels"][MIG_CONFIG] == "all-disabled"
    assert Action.ROLLOUT_FAILED in [e.action for e in recorder.changes.entries]


def test_on_failure_continue_goes_on_with_remaining_budget() -> None:
    """With onFailure continue and budget 2, one failure leaves one slot and the rest roll."""
    cluster, clock, _ = _setup(4, failing={"h100-0"})
    [report] = RolloutRunner(cluster, clock, ChangeRecorder()).run(
        [pool(max_unavailable=2, onFailure="continue")]
    )
    assert list(report.failed) == ["h100-0"] and sorted(report.rolled) == ["h100-1", "h100-2", "h100-3"]


def test_mig_timeout_fails_the_node() -> None:
    """No answer from the MIG manager within migTimeout fails the node instead of waiting forever."""
    cluster, clock, manager = _setup(1)
    clock.on_sleep.remove(manager)
    [report] = RolloutRunner(cluster, clock, ChangeRecorder()).run([pool(migTimeout="30s")])
    assert "did not report success within 30s" in report.failed["h100-0"]
    assert 30 <= clock.slept <= 32


def test_resume_after_restart_continues_in_flight_nodes() -> None:
    """A node left mid-rollout by a killed gpuctl is resumed and uncordoned, not restarted."""
    cluster, clock, _ = _setup(3)
    sink = RecordingAuditSink()
    rid = sink.begin(RevisionInfo("abc"), Trigger.MANUAL)
    first = RolloutRunner(cluster, clock, ChangeRecorder(sink, rid))
    # Simulate a crash right after the first node was cordoned and relabelled.
    stepper_pool = pool(max_unavailable=1)
    from reconciler.rollout.steps import NodeStepper
    from reconciler.rollout.targets import target_for

    stepper = NodeStepper(cluster, clock, first.recorder, target_for(stepper_pool))
    stepper.step(cluster.node("h100-0"))
    clock.sleep(stepper.settle)  # drained, and seen empty for the settle time
    stepper.step(cluster.node("h100-0"))
    assert cluster.node("h100-0")["metadata"]["annotations"][PHASE] == "configuring"
    sink.end(rid, ReconcileOutcome.FAILED, "killed")
    [report] = RolloutRunner(cluster, clock, ChangeRecorder()).run([stepper_pool])
    assert report.rolled == ["h100-0", "h100-1", "h100-2"]
    resumed = cluster.node("h100-0")
    assert not resumed["spec"].get("unschedulable") and CORDONED_BY not in resumed["metadata"].get(
        "annotations", {}
    )


def test_node_cordoned_by_someone_else_stays_cordoned() -> None:
    """gpuctl uncordons only the nodes it cordoned itself."""
    cluster, clock, _ = _setup(1)
    cluster.node("h100-0")["spec"]["unschedulable"] = True
    [report] = RolloutRunner(cluster, clock, ChangeRecorder()).run([pool()])
    assert report.rolled == ["h100-0"]
    assert cluster.node("h100-0")["spec"]["unschedulable"] is True


def test_node_matching_two_pools_is_an_error() -> None:
    """Two pools selecting one node raise PoolOverlapError naming the node."""
    overlapping = pool("a")
    other = pool("b").model_copy(update={"spec": overlapping.spec})
    try:
        assign_nodes([overlapping, other], [node("x", "a")])
    except PoolOverlapError as exc:
        assert "Node/x" in str(exc)
    else:
        raise AssertionError("overlap not detected")


def test_nodes_outside_pools_are_untouched() -> None:
    """A node no pool selects gets no write at all."""
    cluster, clock, _ = _setup(0)
    cluster.put(node("cpu-0", pool_name="cpu"))
    RolloutRunner(cluster, clock, ChangeRecorder()).run([pool()])
    assert cluster.writes == []


def test_device_plugin_only_change_does_not_wait_for_the_mig_manager() -> None:
    """With mig.config unchanged, the MIG manager has nothing to do: no wait, no timeout."""
    cluster, clock, manager = _setup(2)
    clock.on_sleep.remove(manager)
    [report] = RolloutRunner(cluster, clock, ChangeRecorder()).run(
        [pool(mig="all-disabled", device_plugin="time-sliced", migTimeout="30s")]
    )
    assert sorted(report.rolled) == ["h100-0", "h100-1"] and not report.failed
    assert cluster.node("h100-0")["metadata"]["labels"]["nvidia.com/device-plugin.config"] == "time-sliced"
    assert cluster.node("h100-0")["metadata"]["labels"]["nvidia.com/mig.config.state"] == "success"
    assert clock.slept < 30


def test_node_left_mid_rollout_by_a_removed_pool_is_released() -> None:
    """A pool removed from Git while its node was mid-rollout: gpuctl uncordons what it cordoned."""
    from reconciler.rollout.steps import NodeStepper
    from reconciler.rollout.targets import target_for

    cluster, clock, _ = _setup(2)
    NodeStepper(cluster, clock, ChangeRecorder(), target_for(pool())).step(cluster.node("h100-0"))
    assert cluster.node("h100-0")["spec"]["unschedulable"] is True
    recorder = ChangeRecorder()
    assert RolloutRunner(cluster, clock, recorder).run([]) == []
    released = cluster.node("h100-0")
    assert not released["spec"].get("unschedulable") and PHASE not in released["metadata"].get(
        "annotations", {}
    )
    assert [e.action for e in recorder.changes.entries] == [Action.UNCORDONED]
    assert ("patch", "Node/h100-1") not in cluster.writes
