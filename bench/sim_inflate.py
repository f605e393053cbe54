"""Benchmark: the FGD inflate protocol on openb `default` with the GPU node list.

    python -m bench.sim_inflate [--seeds 10] [--policies random dot-product gpu-packing best-fit fgd]

Prints, per policy, the mean (and spread) of unallocated GPU % at 100 % arrived over the
seeds, and the wall-clock seconds per seed. Target: fgd ≤ 3 s per seed. The whole FGD paper
table, next to the published means, is `python -m bench.fgd_table`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from simulator.cluster import from_node_list
from simulator.config import SimParameters
from simulator.inflate import inflate
from simulator.placement import FGD_PAPER_POLICIES
from simulator.traces import load_openb_nodes, load_openb_pods
from simulator.traces.locations import shared_traces_dir

DEFAULT_POLICIES = list(FGD_PAPER_POLICIES)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--policies", nargs="+", default=DEFAULT_POLICIES)
    parser.add_argument("--pods", default="openb_pod_list_default.csv")
    args = parser.parse_args()
    print(f"$ python -m bench.{Path(__file__).stem} {' '.join(sys.argv[1:])}".rstrip())

    openb = shared_traces_dir() / "openb"
    spec = from_node_list(load_openb_nodes(openb / "openb_node_list_gpu_node.csv"))
    pods = load_openb_pods(openb / args.pods)
    print(f"cluster: {spec.nodes} nodes, {spec.total_gpus} GPUs; workload: {args.pods}, {len(pods)} pods")
    print(
        f"{'policy':<16}{'unalloc@100% mean':>18}{'std':>7}{'min':>7}{'max':>7}{'s/seed':>9}{'pods/seed':>11}"
    )
    for policy in args.policies:
        params = SimParameters(mode="inflate", policy=policy)
        values, seconds, offered = [], [], 0
        for seed in range(args.seeds):
            began = time.perf_counter()
            outcome = inflate(spec, pods, params, np.random.default_rng(seed))
            seconds.append(time.perf_counter() - began)
            values.append(outcome.unallocated_at(100.0))
            offered = outcome.offered
        v = np.array(values)
        print(
            f"{policy:<16}{v.mean():>18.2f}{v.std():>7.2f}{v.min():>7.2f}{v.max():>7.2f}"
            f"{np.mean(seconds):>9.2f}{offered:>11}"
        )


if __name__ == "__main__":
    main()
