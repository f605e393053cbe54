"""`CaptureStore`: the captured GPU pods in SQLite (WAL mode; one row per pod, upserted by uid),
read back as jobs grouped by owner. Bounded: `prune` drops ended jobs older than the retention
age and, past `max_pods` rows, the oldest jobs whatever their age; freed pages go back to the
file system (incremental auto-vacuum), so the file does not grow without bound.

Written by `recorder.CaptureRecorder` (the daemon's watch thread); read by `gpuctl trace export`,
`gpuctl simulate --trace captured:…` and the calibration."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reconciler.capture.pods import Outcome, PodRecord
from reconciler.capture.workloads import WorkloadRecord

SCHEMA_VERSION = 1
_DDL = """
CREATE TABLE IF NOT EXISTS pods (
    uid TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    job_key TEXT NOT NULL,
    owner_key TEXT NOT NULL,
    job_kind TEXT NOT NULL,
    job_name TEXT NOT NULL,
    resource TEXT NOT NULL,
    per_pod INTEGER NOT NULL,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL,
    node TEXT NOT NULL,
    pool TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pods_job ON pods (job_key);
CREATE INDEX IF NOT EXISTS pods_created ON pods (created);
CREATE INDEX IF NOT EXISTS pods_without_pool ON pods (node) WHERE pool = '';
CREATE TABLE IF NOT EXISTS workloads (
    owner_key TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    priority INTEGER,
    created REAL NOT NULL
);
"""
_COLUMNS = ("uid", "namespace", "name", "job_key", "owner_key", "job_kind", "job_name", "resource", "per_pod",
            "queue", "priority", "node", "pool", "created", "started", "finished", "outcome")
# A pod keeps the first pool it was seen on; times only move forward once known.
_UPSERT = f"""
INSERT INTO pods ({", ".join(_COLUMNS)}) VALUES ({", ".join("?" * len(_COLUMNS))})
ON CONFLICT (uid) DO UPDATE SET
    node = CASE WHEN excluded.node != '' THEN excluded.node ELSE pods.node END,
    pool = CASE WHEN pods.pool != '' THEN pods.pool ELSE excluded.pool END,
    started = COALESCE(pods.started, excluded.started),
    finished = COALESCE(pods.finished, excluded.finished),
    outcome = CASE WHEN pods.outcome IN ('Succeeded', 'Failed', 'Deleted') THEN pods.outcome
                   ELSE excluded.outcome END
"""
# A job with a Kueue Workload was submitted when its Workload was created (pods come after
# admission) and sits in the Workload's queue with its priority.
_JOBS = """
SELECT p.job_key, MIN(p.namespace), MIN(p.job_kind), MIN(p.job_name), MIN(p.resource), MAX(p.per_pod),
       COUNT(*), COALESCE(NULLIF(MAX(w.queue), ''), MAX(p.queue)), COALESCE(MAX(w.priority), MAX(p.priority)),
       MAX(p.pool),
       MIN(MIN(p.created), COALESCE(MIN(w.created), MIN(p.created))),
       CASE WHEN COUNT(p.started) = COUNT(*) THEN MAX(p.started) END,
       CASE WHEN COUNT(p.finished) = COUNT(*) THEN MAX(p.finished) END,
       SUM(p.outcome = 'Failed'), SUM(p.outcome = 'Deleted'), SUM(p.outcome = 'Succeeded'),
       SUM(p.started IS NOT NULL)
FROM pods p LEFT JOIN workloads w ON w.owner_key = p.owner_key
GROUP BY p.job_key HAVING MIN(MIN(p.created), COALESCE(MIN(w.created), MIN(p.created))) >= ?
ORDER BY 11, 1
"""


@dataclass(frozen=True)
class RetentionPolicy:
    """Ended jobs older than `max_age_s` go; past `max_pods` rows the oldest jobs go too."""

    max_age_s: float = 14 * 86400.0
    max_pods: int = 200_000


@dataclass(frozen=True)
class CapturedJob:
    """A job as observed: its pods' shared request, its times (epoch seconds) and outcome.
    `started` is when its last pod started (the gang was complete); `finished` when its last pod
    ended; both None until then."""

    key: str
    namespace: str
    kind: str
    name: str
    resource: str
    per_pod: int
    pods: int
    queue: str
    priority: int
    pool: str
    submitted: float
    started: float | None
    finished: float | None
    outcome: str

    @property
    def wait_s(self) -> float | None:
        return None if self.started is None else max(0.0, self.started - self.submitted)

    @property
    def duration_s(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return max(0.0, self.finished - self.started)


def _outcome(failed: int, deleted: int, succeeded: int, started: int, pods: int) -> str:
    if failed:
        return Outcome.FAILED
    if deleted:
        return Outcome.DELETED
    if succeeded == pods:
        return Outcome.SUCCEEDED
    return Outcome.RUNNING if started else Outcome.PENDING


class CaptureStore:
    """The capture database at `path` (created on first use). Safe to share between threads."""

    def __init__(self, path: str | Path, retention: RetentionPolicy | None = None) -> None:
        self.path = Path(path)
        self.retention = retention or RetentionPolicy()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect on a new file
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            self._conn.close()
            raise ValueError(
                f"{self.path}: capture schema version {version}, this gpuctl reads {SCHEMA_VERSION}"
            )
        self._conn.executescript(_DDL)
        self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def record(self, pods: Iterable[tuple[PodRecord, str]]) -> int:
        """Upsert (record, pool) pairs in one transaction; returns how many were written."""
        rows = [
            (p.uid, p.namespace, p.name, p.job_key, p.owner_key, p.job_kind, p.job_name, p.resource,
             p.per_pod, p.queue, p.priority, p.node, pool, p.created, p.started, p.finished, p.outcome)
            for p, pool in pods
        ]
        if not rows:
            return 0
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany(_UPSERT, rows)
            self._conn.execute("COMMIT")
        return len(rows)

    def record_workloads(self, workloads: Iterable[WorkloadRecord]) -> int:
        """Upsert Kueue Workloads (by owner) in one transaction."""
        rows = [(w.owner_key, w.queue, w.priority, w.created) for w in workloads]
        if not rows:
            return 0
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "INSERT INTO workloads (owner_key, queue, priority, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (owner_key) DO UPDATE SET queue = excluded.queue, priority = excluded.priority, "
                "created = MIN(workloads.created, excluded.created)", rows)
            self._conn.execute("COMMIT")
        return len(rows)

    def assign_pools(self, pool_by_node: dict[str, str]) -> int:
        """Give pods recorded without a pool the pool of their node; returns the rows changed."""
        with self._lock:
            waiting = {r[0] for r in self._conn.execute("SELECT DISTINCT node FROM pods WHERE pool = ''")}
            rows = [(pool_by_node[node], node) for node in waiting if node in pool_by_node]
            if not rows:
                return 0
            self._conn.execute("BEGIN")
            before = self._conn.total_changes
            self._conn.executemany("UPDATE pods SET pool = ? WHERE pool = '' AND node = ?", rows)
            changed = self._conn.total_changes - before
            self._conn.execute("COMMIT")
        return changed

    def unfinished_uids(self) -> set[str]:
        """Pods recorded as pending or running (a relist checks they still exist)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT uid FROM pods WHERE outcome NOT IN ('Succeeded', 'Failed', 'Deleted')"
            ).fetchall()
        return {r[0] for r in rows}

    def mark_deleted(self, uids: Iterable[str], at: float) -> int:
        """Pods that vanished before they ended: outcome Deleted, finished at `at`."""
        ids = [(at, uid) for uid in uids]
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "UPDATE pods SET finished = ?, outcome = 'Deleted' WHERE uid = ? "
                "AND outcome NOT IN ('Succeeded', 'Failed', 'Deleted')", ids)
            self._conn.execute("COMMIT")
        return len(ids)

    def jobs(self, since: float = 0.0) -> list[CapturedJob]:
        """Jobs submitted at or after `since` (epoch seconds), in submit order."""
        with self._lock:
            rows = self._conn.execute(_JOBS, (since,)).fetchall()
        return [
            CapturedJob(
                key=r[0], namespace=r[1], kind=r[2], name=r[3], resource=r[4], per_pod=r[5], pods=r[6],
                queue=r[7], priority=r[8], pool=r[9], submitted=r[10], started=r[11], finished=r[12],
                outcome=_outcome(r[13], r[14], r[15], r[16], r[6]),
            )
            for r in rows
        ]

    def counts(self) -> tuple[int, int]:
        """(pods, jobs) currently stored."""
        with self._lock:
            pods, jobs = self._conn.execute("SELECT COUNT(*), COUNT(DISTINCT job_key) FROM pods").fetchone()
        return int(pods), int(jobs)

    def prune(self, now: float) -> int:
        """Apply the retention policy at time `now`; returns the number of pods removed."""
        cutoff = now - self.retention.max_age_s
        with self._lock:
            self._conn.execute("BEGIN")
            removed = self._conn.execute(
                "DELETE FROM pods WHERE job_key IN (SELECT job_key FROM pods GROUP BY job_key "
                "HAVING COUNT(finished) = COUNT(*) AND MAX(finished) < ?)", (cutoff,)
            ).rowcount
            # Workloads whose pods are gone, or that never got pods within the retention age.
            self._conn.execute(
                "DELETE FROM workloads WHERE created < ? AND owner_key NOT IN (SELECT owner_key FROM pods)",
                (cutoff,),
            )
            excess = self._conn.execute("SELECT COUNT(*) FROM pods").fetchone()[0] - self.retention.max_pods
            if excess > 0:  # rotation: the oldest jobs go first, until the row cap holds
                removed += self._conn.execute(
                    "DELETE FROM pods WHERE uid IN (SELECT uid FROM pods ORDER BY created, job_key LIMIT ?)",
                    (excess,),
                ).rowcount
            self._conn.execute("COMMIT")
            if removed:
                self._conn.execute("PRAGMA incremental_vacuum")
        return int(removed)
