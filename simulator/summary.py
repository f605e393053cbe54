"""Aggregates of several seeds of one experiment (means and spreads of the headline figures),
and the headline figures of one run, for reports and the CLI. No simulation here."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.result import RunResult


def headline(result: RunResult) -> dict[str, float | int | None]:
    """The few numbers that summarise one run."""
    metrics = result.metrics
    if not result.ok or not metrics:
        return {}
    if result.mode == "inflate":
        return {
            "unallocated_gpu_pct_at_100": metrics["unallocated_gpu_pct_at_100"],
            "fragmentation_rate_pct_at_100": metrics["curve"]["fragmentation_rate_pct"][
                metrics["curve"]["arrived_pct"].index(100.0)
            ]
            if 100.0 in metrics["curve"]["arrived_pct"]
            else None,
            "pods_failed": metrics["pods_failed"],
        }
    return {
        "gpu_allocation_mean": metrics["gpu_allocation"]["time_weighted_mean"],
        "effective_utilisation": metrics["effective_utilisation"],
        "wait_p50_s": metrics["wait_s"].get("p50"),
        "wait_p95_s": metrics["wait_s"].get("p95"),
        "wait_p99_s": metrics["wait_s"].get("p99"),
        "jct_p50_s": metrics["jct_s"].get("p50"),
        "completed": metrics["jobs"]["completed"],
        "unschedulable": metrics["jobs"]["unschedulable"],
    }


def across_seeds(results: list[RunResult]) -> dict[str, Any]:
    """Mean, standard deviation, min and max of each headline figure over the successful runs."""
    rows = [headline(r) for r in results if r.ok]
    figures: dict[str, dict[str, float]] = {}
    for key in rows[0] if rows else {}:
        values = np.array([row[key] for row in rows if row.get(key) is not None], dtype=np.float64)
        if values.shape[0]:
            figures[key] = {
                "mean": float(values.mean()),
                "std": float(values.std()),
                "min": float(values.min()),
                "max": float(values.max()),
            }
    return {
        "runs": len(results),
        "failed_runs": sum(1 for r in results if not r.ok),
        "seeds": [r.seed for r in results],
        "figures": figures,
    }
