"""Captured jobs as a gpuctl CSV trace (the simulator's `csv` format, docs/workload-capture.md).

One row per job that ran (it has a start and an end): `arrival` is seconds after the first
exported job was submitted, `duration` the time from its last pod starting to its last pod
ending. Jobs still pending or running are left out (their duration is unknown) and counted.
Columns after the simulator's own carry what was observed, for the calibration report."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from reconciler.capture.store import CapturedJob

COLUMNS = (
    # read by the simulator
    "job_id", "arrival", "duration", "pods", "gpus", "resource", "team", "queue", "priority", "kind", "class",
    # observed, for calibration and people
    "submitted", "observed_wait", "pool", "outcome",
)


@dataclass(frozen=True)
class ExportSummary:
    exported: int
    unfinished: int  # pending or running: left out


def job_id(job: CapturedJob) -> str:
    """`namespace/Kind/name` (Ray worker groups as `name/group`), unique per export."""
    return f"{job.namespace}/{job.kind}/{job.name}"


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def write_trace(jobs: Sequence[CapturedJob], out: TextIO) -> ExportSummary:
    """Write the jobs that ran as CSV rows to `out` (header first)."""
    ran = [j for j in jobs if j.started is not None and j.finished is not None]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    origin = min((j.submitted for j in ran), default=0.0)
    seen: dict[str, int] = {}
    for job in ran:
        assert job.duration_s is not None and job.wait_s is not None
        name = job_id(job)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # a job recreated under the same name (new owner uid)
            name = f"{name}#{seen[name]}"
        writer.writerow((
            name, _fmt(job.submitted - origin), _fmt(job.duration_s), job.pods, job.per_pod, job.resource,
            job.namespace, job.queue or job.namespace, job.priority, job.kind.lower(), job.kind.lower(),
            datetime.fromtimestamp(job.submitted, UTC).isoformat().replace("+00:00", "Z"),
            _fmt(job.wait_s), job.pool, job.outcome,
        ))
    return ExportSummary(exported=len(ran), unfinished=len(jobs) - len(ran))
