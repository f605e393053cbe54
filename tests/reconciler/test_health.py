"""Health assessors against YAML fixtures (`<kind>-<expected state>.yaml`), the aggregate order
and the bounded wait."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.health.assess import aggregate, assess, wait_healthy
from reconciler.testing import FakeCluster, ManualClock
from schemas.refs import ObjectRef
from schemas.results import HealthCode, HealthStatus

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "testdata" / "health").glob("*.yaml"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_health(path: Path) -> None:
    """Each fixture assesses to the state its file name says."""
    obj = yaml.safe_load(path.read_text())
    expected = HealthCode[path.stem.rsplit("-", 1)[1].upper()]
    status = assess(ObjectRef.of(obj), obj)
    assert status.code is expected, status.message


def test_every_issue_kind_has_fixtures() -> None:
    """Deployment, StatefulSet, DaemonSet, Job, CRD, Node, RayCluster, PyTorchJob, ClusterQueue and
    ClusterPolicy each have at least a healthy and a non-healthy fixture."""
    kinds = {p.stem.rsplit("-", 1)[0] for p in FIXTURES}
    assert kinds == {
        "deployment", "statefulset", "daemonset", "job", "crd", "node",
        "raycluster", "pytorchjob", "clusterqueue", "clusterpolicy",
    }  # fmt: skip
    for kind in kinds:
        states = {p.stem.rsplit("-", 1)[1] for p in FIXTURES if p.stem.rsplit("-", 1)[0] == kind}
        assert "healthy" in states and len(states) >= 2, kind


def test_missing_object_is_missing() -> None:
    """An object absent from the cluster is Missing."""
    assert assess(ObjectRef("apps", "Deployment", "a", "b"), None).code is HealthCode.MISSING


def test_aggregate_is_the_worst_state() -> None:
    """Healthy < Suspended < Progressing < Missing < Degraded < Unknown."""
    codes = [HealthCode.HEALTHY, HealthCode.PROGRESSING, HealthCode.SUSPENDED]
    assert aggregate(HealthStatus(c) for c in codes).code is HealthCode.PROGRESSING
    assert aggregate([HealthStatus(HealthCode.DEGRADED, "x"), HealthStatus(HealthCode.UNKNOWN)]).code is (
        HealthCode.UNKNOWN
    )
    assert aggregate([]).code is HealthCode.HEALTHY


def test_wait_times_out_instead_of_hanging() -> None:
    """A Job that stays active makes the wait return timed out after its timeout."""
    job = yaml.safe_load((FIXTURES[0].parent / "job-progressing.yaml").read_text())
    clock = ManualClock()
    report = wait_healthy(FakeCluster([job]), {ObjectRef.of(job): "batch/v1"}, clock, timeout=30, poll=5)
    assert report.timed_out and report.overall.code is HealthCode.PROGRESSING
    assert clock.slept == 30


def test_wait_fails_fast_on_degraded() -> None:
    """A Degraded object ends the wait at once (no sleeping out the timeout)."""
    job = yaml.safe_load((FIXTURES[0].parent / "job-degraded.yaml").read_text())
    clock = ManualClock()
    report = wait_healthy(FakeCluster([job]), {ObjectRef.of(job): "batch/v1"}, clock, timeout=300)
    assert not report.timed_out and report.overall.code is HealthCode.DEGRADED and clock.slept == 0
