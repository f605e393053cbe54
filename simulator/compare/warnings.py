"""Structural warnings, in words: what the head state breaks that no confidence interval is
needed for. A resource a team asks for that no pool advertises any more, a pool removed,
unschedulable reasons that only the head has."""

from __future__ import annotations

import numpy as np

from simulator.cluster.spec import ClusterSpec
from simulator.compare.engine import PoolUsage
from simulator.compare.runner import PairOutcome, SideOutcome


def _advertised(spec: ClusterSpec) -> set[str]:
    devices = spec.describe()["devices_by_resource"]
    assert isinstance(devices, dict)
    return set(devices)


def _mean_requests(sides: list[SideOutcome]) -> dict[tuple[str, str], float]:
    keys = {key for side in sides for key in side.requests}
    return {key: float(np.mean([side.requests.get(key, 0) for side in sides])) for key in sorted(keys)}


def _mean_reasons(sides: list[SideOutcome]) -> dict[str, float]:
    reasons: dict[str, list[int]] = {}
    for index, side in enumerate(sides):
        for reason, count in side.result.metrics.get("jobs", {}).get("unschedulable_reasons", {}).items():
            reasons.setdefault(reason, [0] * len(sides))[index] = count
    return {reason: float(np.mean(counts)) for reason, counts in reasons.items()}


def _jobs(count: float) -> str:
    rounded = round(count)
    return f"{rounded} job{'s' if rounded != 1 else ''}" + (" per run" if count != rounded else "")


def structural_warnings(base: ClusterSpec, head: ClusterSpec, pairs: list[PairOutcome]) -> list[str]:
    """Sentences for the report, most serious first."""
    warnings: list[str] = []
    before, after = _advertised(base), _advertised(head)
    heads = [p.head for p in pairs if p.head.result.ok]
    bases = [p.base for p in pairs if p.base.result.ok]
    lost = sorted(before - after)
    for (team, resource), count in _mean_requests(heads).items():
        if resource in lost and count > 0:
            warnings.append(
                f"team {team} requests {resource} but no pool advertises it after this change: "
                f"{_jobs(count)} unschedulable"
            )
    base_reasons = _mean_reasons(bases)
    for reason, count in sorted(_mean_reasons(heads).items()):
        covered = any(reason == f"no node advertises {r}" for r in lost)
        if not covered and count > base_reasons.get(reason, 0.0) and reason not in base_reasons:
            warnings.append(f"{_jobs(count)} cannot be scheduled after this change: {reason}")
    old_pools, new_pools = PoolUsage.of(base), PoolUsage.of(head)
    for index, pool in enumerate(old_pools.pool_names):
        if pool not in new_pools.pool_names:
            gpus = old_pools.capacity_milli[index] // 1000
            warnings.append(f"pool {pool} is removed by this change: {gpus} GPUs of capacity go away")
    for resource in lost:
        if not any(r == resource for (_, r), n in _mean_requests(heads).items() if n > 0):
            warnings.append(
                f"no pool advertises {resource} after this change (no job in the workload asks for it)"
            )
    return warnings
