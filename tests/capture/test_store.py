"""The capture store: upserts keep the first times seen, jobs group their pods, retention by
age and the row cap bound the file, and the export writes a CSV the simulator loads."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import replace
from pathlib import Path

from reconciler.capture import CaptureStore, PodRecord, RetentionPolicy
from reconciler.capture.export import write_trace
from reconciler.capture.pods import Outcome
from reconciler.capture.workloads import WorkloadRecord
from simulator.traces import load_gpuctl_csv

DAY = 86400.0


def record(uid: str, job: str, created: float, *, started: float | None = None, finished: float | None = None,
           outcome: str = Outcome.SUCCEEDED) -> PodRecord:
    return PodRecord(uid=uid, namespace="team-a", name=uid, job_key=job, owner_key=job, job_kind="Job",
                     job_name=job,
                     resource="nvidia.com/gpu", per_pod=4, queue="q", priority=0, node="n-1", created=created,
                     started=started, finished=finished, outcome=outcome)


def finished_job(store: CaptureStore, job: str, t: float, pods: int = 2) -> None:
    store.record((record(f"{job}-{i}", job, t, started=t + 10 + i, finished=t + 100), "pool-a")
                 for i in range(pods))


def test_a_job_starts_with_its_last_pod_and_ends_with_its_last_pod(tmp_path: Path) -> None:
    """A gang is started when its last pod started and ends when its last pod ended."""
    store = CaptureStore(tmp_path / "c.db")
    store.record([(record("a", "j", 0.0, started=5.0, outcome=Outcome.RUNNING), "pool-a"),
                  (record("b", "j", 1.0, outcome=Outcome.PENDING), "")])
    (job,) = store.jobs()
    assert (job.pods, job.per_pod, job.started) == (2, 4, None)
    assert (job.outcome, job.pool) == (Outcome.RUNNING, "pool-a")
    store.record([(record("b", "j", 1.0, started=20.0, finished=50.0), "pool-a"),
                  (record("a", "j", 0.0, started=5.0, finished=40.0), "pool-b")])
    (job,) = store.jobs()
    assert (job.wait_s, job.duration_s, job.outcome, job.pool) == (20.0, 30.0, Outcome.SUCCEEDED, "pool-a")


def test_an_ended_pod_is_not_reopened_by_an_older_event(tmp_path: Path) -> None:
    """Once a pod ended, a late event that still shows it running does not undo the end."""
    store = CaptureStore(tmp_path / "c.db")
    done = record("a", "j", 0.0, started=5.0, finished=9.0)
    store.record([(done, "p")])
    store.record([(replace(done, finished=None, outcome=Outcome.RUNNING), "p")])
    assert store.jobs()[0].outcome == Outcome.SUCCEEDED


def test_retention_drops_old_ended_jobs_and_keeps_running_ones(tmp_path: Path) -> None:
    """Ended jobs older than the retention age go; a job still running stays, however old."""
    store = CaptureStore(tmp_path / "c.db", RetentionPolicy(max_age_s=7 * DAY))
    finished_job(store, "old", 0.0)
    finished_job(store, "new", 9 * DAY)
    store.record([(record("long", "long", 0.0, started=5.0, outcome=Outcome.RUNNING), "p")])
    assert store.prune(now=10 * DAY) == 2
    assert sorted(j.name for j in store.jobs()) == ["long", "new"]


def test_the_row_cap_bounds_the_store_and_the_file(tmp_path: Path) -> None:
    """Past max_pods the oldest jobs go first, and the file stops growing with the workload."""
    store = CaptureStore(tmp_path / "c.db", RetentionPolicy(max_age_s=365 * DAY, max_pods=2_000))
    sizes = []
    for batch in range(6):
        for job in range(500):
            finished_job(store, f"b{batch}-j{job}", batch * 1000.0 + job)
        store.prune(now=6000.0)
        sizes.append((tmp_path / "c.db").stat().st_size + (tmp_path / "c.db-wal").stat().st_size)
    assert store.counts() == (2_000, 1_000)
    assert min(j.submitted for j in store.jobs()) >= 4000.0  # the four oldest batches went
    assert sizes[-1] <= sizes[2] * 1.1, sizes


def test_export_writes_a_trace_the_simulator_reads(tmp_path: Path) -> None:
    """Exported jobs load with the simulator's CSV loader: arrivals, durations, gangs and teams."""
    store = CaptureStore(tmp_path / "c.db")
    finished_job(store, "first", 1000.0)
    finished_job(store, "second", 1060.0, pods=3)
    store.record([(record("q", "queued", 1100.0, outcome=Outcome.PENDING), "")])
    out = io.StringIO()
    summary = write_trace(store.jobs(), out)
    assert (summary.exported, summary.unfinished) == (2, 1)
    path = tmp_path / "t.csv"
    path.write_text(out.getvalue())
    table = load_gpuctl_csv(path)
    assert table.names == ["team-a/Job/first", "team-a/Job/second"]
    assert table.arrival.tolist() == [0.0, 60.0]
    assert table.work.tolist() == [89.0, 88.0]
    assert table.pods.tolist() == [2, 3] and table.gpus.tolist() == [4, 4]
    assert table.teams[int(table.team[0])] == "team-a"


def test_a_kueue_workload_gives_submit_time_queue_and_priority(tmp_path: Path) -> None:
    """A job's Workload (created before its pods) sets its submit time, queue and priority."""
    store = CaptureStore(tmp_path / "c.db", RetentionPolicy(max_age_s=DAY))
    store.record_workloads([WorkloadRecord(owner_key="j", queue="lq-train", priority=900, created=100.0)])
    finished_job(store, "j", 400.0)
    (job,) = store.jobs()
    assert (job.submitted, job.queue, job.priority, job.wait_s) == (100.0, "lq-train", 900, 311.0)
    assert [j.key for j in store.jobs(since=200.0)] == []
    store.record_workloads([WorkloadRecord(owner_key="orphan", queue="q", priority=None, created=0.0)])
    store.prune(now=400.0 + 2 * DAY)
    assert store.jobs() == []
    with sqlite3.connect(tmp_path / "c.db") as conn:  # the Workloads went with their jobs
        assert conn.execute("SELECT COUNT(*) FROM workloads").fetchone() == (0,)
