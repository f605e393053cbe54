"""Kueue-like quotas in replay: nominal quota, borrowing within a cohort, borrowing limits,
and jobs no quota can ever admit."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.desired import Manifest
from schemas.diagnostics import SourceLocation
from schemas.refs import ObjectRef
from simulator import SimConfig, SimParameters, run
from tests.simulator.conftest import desired, make_jobs, pool


def _manifest(obj: dict[str, Any]) -> Manifest:
    return Manifest(obj, SourceLocation("quotas.yaml"), ObjectRef.of(obj))


def _cluster_queue(
    name: str, nominal: int, cohort: str | None, borrowing_limit: int | None = None
) -> Manifest:
    resource: dict[str, Any] = {"name": "nvidia.com/gpu", "nominalQuota": nominal}
    if borrowing_limit is not None:
        resource["borrowingLimit"] = borrowing_limit
    spec: dict[str, Any] = {
        "resourceGroups": [
            {"coveredResources": ["nvidia.com/gpu"], "flavors": [{"name": "a100", "resources": [resource]}]}
        ]
    }
    if cohort:
        spec["cohortName"] = cohort
    return _manifest(
        {
            "apiVersion": "kueue.x-k8s.io/v1beta2",
            "kind": "ClusterQueue",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def _local_queue(name: str, namespace: str, cluster_queue: str) -> Manifest:
    return _manifest(
        {
            "apiVersion": "kueue.x-k8s.io/v1beta2",
            "kind": "LocalQueue",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterQueue": cluster_queue},
        }
    )


def _replay(cohort: str | None, borrowing_limit: int | None = None, extra_jobs: int = 0) -> dict[str, Any]:
    """Four one-GPU jobs of team a (work 10) on 8 GPUs, queue a nominal 2, queue b nominal 2 idle."""
    state = desired(pool("p", "A100-SXM4-80GB", 8, 1))
    state.manifests = [
        _cluster_queue("cq-a", 2, cohort, borrowing_limit),
        _cluster_queue("cq-b", 2, cohort),
        _local_queue("qa", "team-a", "cq-a"),
        _local_queue("qb", "team-b", "cq-b"),
    ]
    count = 4 + extra_jobs
    jobs = make_jobs(count, work=10.0, gpus=[1] * 4 + [5] * extra_jobs, teams=["a"], queues=["qa"])
    result = run(SimConfig(state, jobs, SimParameters(queue="best-effort-fifo")))
    assert result.ok, result.error
    return result.metrics


def test_nominal_quota_without_cohort_limits_admission() -> None:
    """Without a cohort, queue a runs 2 jobs at once although 8 GPUs are free."""
    metrics = _replay(cohort=None)
    assert metrics["wait_s"]["p50"] == pytest.approx(5.0)  # waits: 0, 0, 10, 10
    assert metrics["gpu_allocation"]["peak"] == pytest.approx(2 / 8)


def test_cohort_lends_unused_quota() -> None:
    """In a cohort, queue a borrows queue b's idle quota: all 4 jobs start at once."""
    metrics = _replay(cohort="ml")
    assert metrics["wait_s"]["p99"] == 0.0
    assert metrics["gpu_allocation"]["peak"] == pytest.approx(4 / 8)


def test_borrowing_limit_caps_borrowing() -> None:
    """A borrowing limit of 1 lets queue a run 3 jobs at once, not 4."""
    metrics = _replay(cohort="ml", borrowing_limit=1)
    assert metrics["gpu_allocation"]["peak"] == pytest.approx(3 / 8)


def test_request_above_every_quota_is_unschedulable() -> None:
    """A 5-GPU job in a queue that can reach at most 4 with borrowing is rejected with the reason."""
    metrics = _replay(cohort="ml", extra_jobs=1)
    assert metrics["jobs"]["unschedulable_reasons"] == {
        "needs 5 nvidia.com/gpu; ClusterQueue cq-a can admit at most 4": 1
    }
