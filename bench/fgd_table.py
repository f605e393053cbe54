"""Benchmark: the FGD paper's placement table, gpuctl's simulator against the published means.

    python -m bench.fgd_table [--traces default gpuspec10 multigpu20] [--seeds 10]
                              [--policies random dot-product ...] [--backend local|inline|ray]
                              [--workers N] [--address ray://host:10001]

Runs every trace × policy × seed of the inflate protocol (openb GPU node list) on the chosen
backend and prints, per row, gpuctl's mean unallocated GPU % at 100 % arrived (and its spread
over the seeds), the published mean, the difference, and the seconds per seed; then, per
trace, whether FGD is the best policy, and the wall-clock time of the whole table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from simulator.backends import make_backend
from simulator.paper import PUBLISHED, TableRow, fgd_table
from simulator.placement import FGD_PAPER_POLICIES, POLICY_NAMES
from simulator.traces.locations import shared_traces_dir

DEFAULT_TRACES = ["default", "gpuspec10", "multigpu20"]


def _format(rows: list[TableRow]) -> list[str]:
    lines = [f"{'trace':<12}{'policy':<24}{'gpuctl':>8}{'std':>6}{'paper':>8}{'diff':>7}{'s/seed':>8}"]
    for row in rows:
        paper = "—" if row.published is None else f"{row.published:.2f}"
        diff = "—" if row.difference is None else f"{row.difference:+.2f}"
        lines.append(
            f"{row.trace:<12}{row.policy:<24}{row.mean:>8.2f}{row.std:>6.2f}{paper:>8}{diff:>7}"
            f"{row.seconds_per_seed:>8.2f}"
        )
    return lines


def _verdicts(rows: list[TableRow]) -> list[str]:
    lines = []
    for trace in dict.fromkeys(r.trace for r in rows):
        mine = [r for r in rows if r.trace == trace]
        best = min(mine, key=lambda r: r.mean)
        gaps = [abs(r.difference) for r in mine if r.difference is not None]
        worst = f"; largest |diff| {max(gaps):.2f}" if gaps else ""
        lines.append(f"{trace}: best policy {best.policy} ({best.mean:.2f} %){worst}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--traces", nargs="+", default=DEFAULT_TRACES, help=f"of {', '.join(PUBLISHED)}")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--policies", nargs="+", default=list(FGD_PAPER_POLICIES), choices=POLICY_NAMES)
    parser.add_argument("--backend", default="local", choices=["local", "inline", "ray"])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--address", default=None, help="Ray address (ray backend)")
    parser.add_argument(
        "--order", default="reference", choices=["reference", "draw"], help="inflate arrival order"
    )
    args = parser.parse_args()
    print(f"$ python -m bench.{Path(__file__).stem} {' '.join(sys.argv[1:])}".rstrip())

    openb = shared_traces_dir() / "openb"
    missing = [t for t in args.traces if not (openb / f"openb_pod_list_{t}.csv").is_file()]
    if missing:
        parser.error(f"no pod list for {', '.join(missing)} in {openb}")
    began = time.perf_counter()
    backend = make_backend(args.backend, args.address, args.workers)
    rows = fgd_table(openb, args.traces, backend, seeds=args.seeds, policies=args.policies, order=args.order)
    elapsed = time.perf_counter() - began
    print("\n".join(_format(rows)))
    print("\n".join(_verdicts(rows)))
    runs = len(args.traces) * len(args.policies) * args.seeds
    print(f"{runs} runs in {elapsed:.1f} s wall-clock on the {args.backend} backend")


if __name__ == "__main__":
    main()
