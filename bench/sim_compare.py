"""Benchmark: the pre-merge comparison on the example repository.

    python -m bench.sim_compare [--seeds 10] [--workers N]

Base = `desired_state/` as it is; head = the same with the h100-inference pool switched to the
`inference-small` MIG layout (a real layout change: a rollout, lost 3g.40gb instances). Both
run the repository's WorkloadProfile over its 7 simulated days with 10 seeds each, standing
workloads and the rollout included, on a local process pool. Target: < 60 s on 2 cores.
Prints wall-clock seconds, runs per second, and the headline differences.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from reconciler.source import load_directory
from simulator import SimParameters
from simulator.backends import ProcessPoolBackend, usable_cpus
from simulator.compare import CompareInputs, compare
from simulator.sweep.grid import apply

EXAMPLE = Path(__file__).resolve().parents[1] / "desired_state"
TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: usable CPUs)")
    args = parser.parse_args()

    loaded = load_directory(EXAMPLE)
    assert loaded.state is not None, "the example repository must be valid"
    base = loaded.state
    profile = base.workloads[0]
    head, _ = apply(base, SimParameters(), {"pool.h100-inference.mig.config": "inference-small"})
    params = SimParameters(seed=profile.spec.seed)
    backend = ProcessPoolBackend(args.workers)
    began = time.perf_counter()
    comparison = compare(
        CompareInputs(base, head, profile, params, args.seeds, workload_label=profile.metadata.name), backend
    )
    elapsed = time.perf_counter() - began
    runs = 2 * args.seeds
    days = profile.spec.horizon / 86400
    print(f"sim_compare: {runs} runs ({args.seeds} seeds × base/head), {days:.0f} simulated days")
    print(f"  workers: {backend.workers} (usable CPUs: {usable_cpus()})")
    print(f"  wall: {elapsed:.1f} s (target < {TARGET_S:.0f} s on 2 cores), {runs / elapsed:.2f} run/s")
    for name in ("gpu_allocation", "queue_wait_p95", "unschedulable", "fragmentation"):
        diff = comparison.metrics[name]
        interval = f"[{diff.ci_low:+.4g}, {diff.ci_high:+.4g}]"
        print(f"  {name}: base {diff.base:.4g}, head {diff.head:.4g}, diff {diff.diff:+.4g} {interval}")
    if comparison.errors:
        print("  errors:", *comparison.errors, sep="\n    ")


if __name__ == "__main__":
    main()
