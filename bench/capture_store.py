"""Capture store benchmark: size on disk per 10,000 jobs, write rate of watch events, and the
time to read the jobs back and export them as a CSV trace.

    python -m bench.capture_store [--jobs 10000] [--dir DIR]

Jobs have 1, 2, 4 or 8 pods (60/25/10/5 %, seeded), realistic names; each pod is written three
times (pending, running, succeeded), one transaction per event, as the daemon's recorder does.
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from reconciler.capture import CaptureStore, PodRecord, RetentionPolicy
from reconciler.capture.export import write_trace
from reconciler.capture.pods import Outcome

KINDS = ("Job", "PyTorchJob", "RayCluster", "StatefulSet")


def pods_of(job: int, pods: int, t: float, rng: np.random.Generator) -> list[PodRecord]:
    kind = KINDS[job % len(KINDS)]
    name = f"llm-finetune-{job:06d}" + ("/gpu-workers" if kind == "RayCluster" else "")
    start = t + float(rng.exponential(120.0))
    end = start + float(rng.exponential(3600.0))
    return [
        PodRecord(
            uid=f"{job:08x}-4c1e-4b6a-9f0e-{i:012x}", namespace=f"team-{job % 12}",
            name=f"llm-finetune-{job:06d}-worker-{i}", job_key=f"{job:08x}-7d2a-4f7e-8c5b-3e9f0a1b2c3d",
            owner_key=f"{job:08x}-7d2a-4f7e-8c5b-3e9f0a1b2c3d",
            job_kind=kind, job_name=name, resource="nvidia.com/gpu", per_pod=8, queue=f"team-{job % 12}",
            priority=100, node=f"gpu-node-{(job + i) % 400:04d}", created=t, started=start, finished=end,
            outcome=Outcome.SUCCEEDED,
        )
        for i in range(pods)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(7)
    counts = rng.choice([1, 2, 4, 8], size=args.jobs, p=[0.6, 0.25, 0.1, 0.05])
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        db = Path(tmp) / "capture.db"
        store = CaptureStore(db, RetentionPolicy(max_age_s=30 * 86400.0, max_pods=10_000_000))
        events = 0
        began = time.perf_counter()
        for job, pods in enumerate(counts.tolist()):
            for pod in pods_of(job, pods, job * 60.0, rng):
                pending = replace(pod, started=None, finished=None, outcome=Outcome.PENDING)
                running = replace(pod, finished=None, outcome=Outcome.RUNNING)
                for record in (pending, running, pod):
                    store.record([(record, "a100-training")])
                    events += 1
        write_s = time.perf_counter() - began
        began = time.perf_counter()
        jobs = store.jobs()
        read_s = time.perf_counter() - began
        began = time.perf_counter()
        write_trace(jobs, io.StringIO())
        export_s = time.perf_counter() - began
        pods_stored, jobs_stored = store.counts()
        store.close()
        with sqlite3.connect(db) as conn:  # fold the WAL in, as a closed daemon leaves the file
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.stat().st_size
    print(f"jobs {jobs_stored:,}, pods {pods_stored:,}, watch events written {events:,}")
    print(f"store size: {size / 1e6:.2f} MB ({size / jobs_stored * 10_000 / 1e6:.2f} MB per 10,000 jobs, "
          f"{size / pods_stored:.0f} B per pod)")
    print(f"write: {events / write_s:,.0f} events/s (one transaction each)")
    print(f"read {len(jobs):,} jobs grouped by owner: {read_s * 1000:.0f} ms; "
          f"CSV export: {export_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
