"""Periodic and one-off jobs of the daemon on one APScheduler BackgroundScheduler: the
remote poll interval, the full resync interval, and fetches requested by webhooks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from reconciler.triggers.base import RevisionSource, Submit
from schemas.results import Trigger


class TriggerScheduler:
    """Runs trigger jobs in a small thread pool; missed runs coalesce into one."""

    def __init__(self) -> None:
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    def every(self, seconds: float, job: Callable[[], object], name: str) -> None:
        """Run `job` every `seconds`, the first time one interval from now."""
        self._scheduler.add_job(job, "interval", seconds=seconds, id=name, name=name)

    def soon(self, job: Callable[[], object], name: str) -> None:
        """Run `job` once, as soon as a worker is free; a request already waiting absorbs this one."""
        self._scheduler.add_job(
            job, "date", run_date=datetime.now(UTC), id=name, name=name, replace_existing=True
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop scheduling; waits for running jobs to finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)


def resync_job(source: RevisionSource, submit: Submit) -> Callable[[], None]:
    """A job that asks for a full reconcile of the current revision (Trigger.RESYNC)."""

    def resync() -> None:
        submit(source.current(), Trigger.RESYNC)

    return resync
