"""`gpuctl demo` end to end, as `make demo` runs it (a fresh process each time).

    python -m bench.demo [--runs 3] [--speed 60]

Figures printed: the wall time of each run including interpreter start-up (target: under
120 s with exit 0 on 2 cores), and the tour's own figures read from its output: first apply,
MIG rollout of the 4 h100-inference nodes, drift → correction.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 120.0
FIGURES = {
    "first apply": re.compile(r"ok first apply: .* in (\d+\.\d+) s"),
    "rollout": re.compile(r"ok rollout done in (\d+\.\d+) s"),
    "drift": re.compile(r"ok drift corrected in (\d+\.\d+) s"),
}


def run_once(speed: float) -> tuple[float, int, dict[str, float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUCTL_")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "gpuctl", "demo", "--speed", f"{speed:g}"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    figures = {}
    for name, pattern in FIGURES.items():
        found = pattern.search(done.stdout)
        if found:
            figures[name] = float(found.group(1))
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
    return took, done.returncode, figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--speed", type=float, default=60.0)
    args = parser.parse_args(argv)
    walls: list[float] = []
    collected: dict[str, list[float]] = {name: [] for name in FIGURES}
    for run in range(1, args.runs + 1):
        took, code, figures = run_once(args.speed)
        walls.append(took)
        for name, value in figures.items():
            collected[name].append(value)
        shown = ", ".join(f"{name} {value:.2f} s" for name, value in figures.items())
        print(f"run {run}: exit {code}, wall {took:.1f} s ({shown})")
    verdict = "ok" if max(walls) < TARGET_S else "OVER TARGET"
    print(f"demo wall time: median {statistics.median(walls):.1f} s, max {max(walls):.1f} s "
          f"over {len(walls)} runs (target < {TARGET_S:.0f} s): {verdict}")
    for name, values in collected.items():
        if values:
            print(f"{name}: median {statistics.median(values):.2f} s, max {max(values):.2f} s")


if __name__ == "__main__":
    main()
