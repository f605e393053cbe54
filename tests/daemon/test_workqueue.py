"""The coalescing work queue: bursts, retries, pre-emption, closing."""

import threading

import pytest

from reconciler.daemon.protocols import WorkItem
from reconciler.daemon.workqueue import QueueClosed, WorkQueue
from schemas.results import Trigger


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_coalesces_into_the_newest_revision():
    """Ten submissions before the loop takes become one item for the last revision."""
    queue = WorkQueue()
    for n in range(10):
        queue.submit(f"rev{n}", Trigger.COMMIT)
    assert queue.take(timeout_s=0) == WorkItem("rev9", Trigger.COMMIT)
    assert queue.take(timeout_s=0) is None
    assert queue.coalesced == 9


def test_retry_waits_for_its_delay():
    """A retried item is not handed out before its back-off delay has passed."""
    clock = ManualClock()
    queue = WorkQueue(clock=clock)
    queue.retry_later(WorkItem("rev1", Trigger.COMMIT), delay_s=5.0)
    assert queue.take(timeout_s=0) is None
    clock.now = 5.0
    assert queue.take(timeout_s=0) == WorkItem("rev1", Trigger.COMMIT, attempt=1)


def test_background_trigger_of_the_same_revision_does_not_cut_backoff_short():
    """Drift or resync events for a failing revision fold into the waiting retry."""
    clock = ManualClock()
    queue = WorkQueue(clock=clock)
    queue.retry_later(WorkItem("rev1", Trigger.COMMIT, attempt=2), delay_s=5.0)
    queue.submit("rev1", Trigger.DRIFT)
    queue.submit("rev1", Trigger.RESYNC)
    assert queue.take(timeout_s=0) is None
    clock.now = 5.0
    assert queue.take(timeout_s=0) == WorkItem("rev1", Trigger.COMMIT, attempt=3)


def test_a_new_revision_replaces_a_waiting_retry_at_once():
    """A newer revision does not wait for an older revision's back-off."""
    queue = WorkQueue(clock=ManualClock())
    queue.retry_later(WorkItem("rev1", Trigger.COMMIT), delay_s=60.0)
    queue.submit("rev2", Trigger.COMMIT)
    assert queue.take(timeout_s=0) == WorkItem("rev2", Trigger.COMMIT)
    assert queue.waiting() is None


def test_manual_request_for_the_failing_revision_runs_now_and_keeps_its_streak():
    """An explicit request retries at once, but the failure count carries on."""
    queue = WorkQueue(clock=ManualClock())
    queue.retry_later(WorkItem("rev1", Trigger.COMMIT, attempt=3), delay_s=60.0)
    queue.submit("rev1", Trigger.WEBHOOK)
    assert queue.take(timeout_s=0) == WorkItem("rev1", Trigger.WEBHOOK, attempt=4)


def test_has_newer_than_sees_only_other_revisions():
    """A running pass is pre-empted by a different waiting revision, not by its own."""
    queue = WorkQueue()
    queue.submit("rev1", Trigger.RESYNC)
    assert not queue.has_newer_than("rev1")
    queue.submit("rev2", Trigger.COMMIT)
    assert queue.has_newer_than("rev1")


def test_take_blocks_until_a_submission_arrives():
    """A blocked taker wakes up as soon as another thread submits."""
    queue = WorkQueue()
    got: list[WorkItem | None] = []
    taker = threading.Thread(target=lambda: got.append(queue.take(timeout_s=30)))
    taker.start()
    queue.submit("rev1", Trigger.COMMIT)
    taker.join(timeout=30)
    assert got == [WorkItem("rev1", Trigger.COMMIT)]


def test_close_releases_a_blocked_taker():
    """Closing the queue makes a blocked take raise QueueClosed."""
    queue = WorkQueue()
    errors: list[BaseException] = []

    def take() -> None:
        try:
            queue.take()
        except QueueClosed as exc:
            errors.append(exc)

    taker = threading.Thread(target=take)
    taker.start()
    queue.close()
    taker.join(timeout=30)
    assert len(errors) == 1
    with pytest.raises(QueueClosed):
        queue.take(timeout_s=0)
