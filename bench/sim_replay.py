"""Benchmark: replay speed of the SimPy engine.

    python -m bench.sim_replay [--jobs 200000] [--skip-million]

1. One-GPU jobs (Poisson arrivals, exponential durations, 90 % offered load) on 1,000 nodes
   × 8 GPUs: jobs simulated per second (engine only; target ≥ 20,000).
2. The same workload with 1,000,000 jobs: wall-clock seconds and peak RSS (targets < 120 s,
   < 2 GB).
3. The ElasticFlow ITP `cluster01.csv` trace on 64 × 8 GPUs (target < 2 s).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

from simulator.cluster import uniform
from simulator.config import SimParameters
from simulator.engine.replay import ReplayEngine
from simulator.jobs import JobTable, empty_columns
from simulator.traces import load_itp
from simulator.traces.locations import shared_traces_dir

NODES, GPUS_PER_NODE, LOAD, MEAN_DURATION = 1000, 8, 0.9, 3600.0


def one_gpu_jobs(count: int, seed: int = 0) -> JobTable:
    """`count` one-GPU jobs offering LOAD of the cluster (M/M/c-style arrivals and durations)."""
    rng = np.random.default_rng(seed)
    rate = LOAD * NODES * GPUS_PER_NODE / MEAN_DURATION
    cols = empty_columns(count)
    cols["arrival"][:] = np.cumsum(rng.exponential(1 / rate, count))
    cols["work"][:] = rng.exponential(MEAN_DURATION, count)
    cols["gpus"][:] = 1
    return JobTable.from_columns(cols)


def timed_replay(
    jobs: JobTable, nodes: int, gpus: int, policy: str = "k8s-default"
) -> tuple[float, float, dict[str, object]]:
    """Wall-clock and CPU seconds of one replay (engine set-up included), and its summary.
    CPU time is the steadier figure on a shared machine."""
    began, began_cpu = time.perf_counter(), time.process_time()
    engine = ReplayEngine(uniform(nodes, gpus), jobs, SimParameters(policy=policy), np.random.default_rng(0))
    summary = engine.run()
    return time.perf_counter() - began, time.process_time() - began_cpu, summary


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    print(f"$ python -m bench.{Path(__file__).stem} {' '.join(sys.argv[1:])}".rstrip())

    jobs = one_gpu_jobs(args.jobs)
    wall, cpu, summary = timed_replay(jobs, NODES, GPUS_PER_NODE)
    allocation = summary["gpu_allocation"]["time_weighted_mean"]  # type: ignore[index]
    print(
        f"1-GPU replay, {NODES}×{GPUS_PER_NODE} GPUs, {len(jobs):,} jobs: wall {wall:.2f} s "
        f"({len(jobs) / wall:,.0f} jobs/s), CPU {cpu:.2f} s ({len(jobs) / cpu:,.0f} jobs/s); "
        f"mean allocation {allocation:.3f}"
    )
    if not args.skip_million:
        jobs = one_gpu_jobs(1_000_000, seed=1)
        wall, cpu, _ = timed_replay(jobs, NODES, GPUS_PER_NODE)
        print(
            f"1,000,000-job replay: wall {wall:.1f} s ({1_000_000 / wall:,.0f} jobs/s), CPU {cpu:.1f} s, "
            f"peak RSS {peak_rss_mib():,.0f} MiB"
        )
    itp = load_itp(shared_traces_dir() / "elasticflow-itp" / "cluster01.csv")
    wall, cpu, summary = timed_replay(itp, 64, 8)
    print(f"ITP cluster01 on 64×8 GPUs ({len(itp):,} jobs): wall {wall:.2f} s, CPU {cpu:.2f} s")


if __name__ == "__main__":
    main()
