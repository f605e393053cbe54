"""The reconcile loop against a scripted runner: retries with back-off, pre-emption by a
newer revision, followers never running a pass, and the outer guard."""

import threading

from reconciler.daemon.backoff import Backoff
from reconciler.daemon.loop import ReconcileLoop
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.protocols import AlwaysLeader, ReconcileReport, StopCheck, WorkItem
from reconciler.daemon.status import StatusBoard
from reconciler.daemon.workqueue import WorkQueue
from schemas.results import ReconcileOutcome, Trigger
from tests.daemon.fakes import ScriptedRunner, changes


class Follower:
    def is_leader(self) -> bool:
        return False


def make_loop(runner, *, leadership=None, backoff=None):
    queue = WorkQueue()
    metrics = DaemonMetrics()
    board = StatusBoard()
    loop = ReconcileLoop(
        queue, runner, leadership=leadership or AlwaysLeader(), metrics=metrics,
        backoff=backoff or Backoff(base_s=0.01, cap_s=0.04), sinks=[board],
    )
    return queue, loop, metrics, board


def sample(metrics: DaemonMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_failures_are_retried_with_growing_delays_until_success():
    """A retryable failure is offered again with attempt+1 and delays that double up to the cap."""
    def script(item: WorkItem, should_stop: StopCheck) -> ReconcileReport:
        if item.attempt < 4:
            return ReconcileReport(item.revision, ReconcileOutcome.FAILED, error="API down", retryable=True)
        return ReconcileReport(item.revision, ReconcileOutcome.SUCCEEDED)

    runner = ScriptedRunner(script)
    queue, loop, metrics, board = make_loop(runner)
    queue.submit("rev1", Trigger.COMMIT)
    for _ in range(5):
        item = queue.take(timeout_s=30)
        assert item is not None
        loop.process(item)
    assert [i.attempt for i in runner.items] == [0, 1, 2, 3, 4]
    assert queue.waiting() is None
    assert sample(metrics, "gpuctl_reconcile_total", result="failed") == 4
    assert sample(metrics, "gpuctl_reconcile_total", result="succeeded") == 1
    assert [r["result"] for r in board.snapshot()["history"]][:2] == ["succeeded", "failed"]


def test_retry_delays_follow_the_backoff_policy():
    """The loop asks the queue for the policy's delay for each consecutive failure."""
    delays: list[float] = []

    class RecordingQueue(WorkQueue):
        def retry_later(self, item: WorkItem, delay_s: float) -> None:
            delays.append(delay_s)
            super().retry_later(item, delay_s)

    runner = ScriptedRunner(lambda item, stop: ReconcileReport(
        item.revision, ReconcileOutcome.FAILED, error="boom", retryable=True))
    queue = RecordingQueue()
    loop = ReconcileLoop(queue, runner, leadership=AlwaysLeader(), metrics=DaemonMetrics(),
                         backoff=Backoff(base_s=0.01, cap_s=0.04))
    queue.submit("rev1", Trigger.COMMIT)
    for _ in range(5):
        item = queue.take(timeout_s=30)
        assert item is not None
        loop.process(item)
    assert delays == [0.01, 0.02, 0.04, 0.04, 0.04]


def test_terminal_failure_waits_for_a_new_revision():
    """An invalid revision is not retried; the next commit is reconciled at once."""
    runner = ScriptedRunner(lambda item, stop: ReconcileReport(
        item.revision, ReconcileOutcome.INVALID, error="bad YAML"))
    queue, loop, _, _ = make_loop(runner)
    queue.submit("rev1", Trigger.COMMIT)
    loop.process(queue.take(timeout_s=0))
    assert queue.waiting() is None


def test_a_newer_revision_stops_the_wait_for_an_older_ones_health():
    """While a pass waits for health, a submitted newer revision makes should_stop true."""
    waiting = threading.Event()

    def script(item: WorkItem, should_stop: StopCheck) -> ReconcileReport:
        if item.revision == "rev1":
            waiting.set()
            while not should_stop():
                threading.Event().wait(0.005)
            return ReconcileReport(item.revision, ReconcileOutcome.SUCCEEDED, interrupted=True)
        return ReconcileReport(item.revision, ReconcileOutcome.SUCCEEDED)

    runner = ScriptedRunner(script)
    queue, loop, _, board = make_loop(runner)
    worker = threading.Thread(target=loop.run_forever)
    worker.start()
    queue.submit("rev1", Trigger.COMMIT)
    assert waiting.wait(30)
    queue.submit("rev2", Trigger.COMMIT)
    deadline = threading.Event()
    for _ in range(3000):
        if len(runner.items) == 2 and board.snapshot()["last"]["revision"] == "rev2":
            break
        deadline.wait(0.01)
    loop.stop()
    worker.join(timeout=30)
    assert [i.revision for i in runner.items] == ["rev1", "rev2"]
    assert board.snapshot()["history"][1]["interrupted"] is True


def test_followers_never_run_a_pass():
    """A replica without the lease takes items but never calls the runner."""
    runner = ScriptedRunner()
    queue, loop, _, _ = make_loop(runner, leadership=Follower())
    queue.submit("rev1", Trigger.COMMIT)
    assert loop.process(queue.take(timeout_s=0)) is None
    assert runner.items == []
    assert not loop.attempted.is_set()


def test_an_exception_in_the_pass_becomes_a_retryable_failure():
    """The outer guard turns a crash in the engine into a failed report and a retry."""
    def script(item: WorkItem, should_stop: StopCheck) -> ReconcileReport:
        raise RuntimeError("engine bug")

    queue, loop, _, _ = make_loop(ScriptedRunner(script))
    queue.submit("rev1", Trigger.COMMIT)
    report = loop.process(queue.take(timeout_s=0))
    assert report is not None and report.error == "RuntimeError: engine bug"
    assert queue.waiting() == WorkItem("rev1", Trigger.COMMIT, attempt=1)
    assert loop.attempted.is_set()


def test_metrics_count_changes_drift_and_revision():
    """Changes by action/kind, drift corrections and the revision gauge follow each pass."""
    def script(item: WorkItem, should_stop: StopCheck) -> ReconcileReport:
        return ReconcileReport(
            item.revision, ReconcileOutcome.SUCCEEDED, changes=changes("ConfigMap", "ResourceQuota"),
            rollout_nodes={"a100": {"done": 2, "draining": 1}} if item.revision == "rev1" else {},
        )

    queue, loop, metrics, _ = make_loop(ScriptedRunner(script))
    queue.submit("rev1", Trigger.COMMIT)
    loop.process(queue.take(timeout_s=0))
    assert sample(metrics, "gpuctl_rollout_nodes", pool="a100", state="draining") == 1
    queue.submit("rev2", Trigger.DRIFT)
    loop.process(queue.take(timeout_s=0))
    assert sample(metrics, "gpuctl_changes_total", action="configured", kind="ConfigMap") == 2
    assert sample(metrics, "gpuctl_drift_corrections_total") == 2
    assert sample(metrics, "gpuctl_revision_info", revision="rev2") == 1
    assert metrics.registry.get_sample_value("gpuctl_revision_info", {"revision": "rev1"}) is None
    done_nodes = {"pool": "a100", "state": "done"}
    assert metrics.registry.get_sample_value("gpuctl_rollout_nodes", done_nodes) is None
