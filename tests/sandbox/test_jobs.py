"""The sandbox's batch/v1 Job controller: pods up to parallelism until completions succeed,
backoffLimit failures fail the Job, suspend holds it. Sandbox-only: on a real control plane
no kubelet here runs the pods to completion (the sandbox's kubelet does, after the runtime
annotation of the pod template)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

import sandbox
from sandbox import SandboxSpec, gpu_pod_manifest
from tests.conformance.conftest import CONFORMANCE_POOLS
from tests.conformance.helpers import wait_for


@pytest.fixture(scope="module")
def api() -> Iterator[client.ApiClient]:
    with sandbox.start(SandboxSpec(pools=list(CONFORMANCE_POOLS)), speed=50) as cluster:
        api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig_path))
        yield api_client
        api_client.close()


def _job(name: str, *, completions: int, parallelism: int, runtime: float | None = 2.0,
         **spec: Any) -> dict[str, Any]:  # fmt: skip
    pod = gpu_pod_manifest("x", resource="cpu", count=1, runtime_seconds=runtime)
    template = {"metadata": {"annotations": pod["metadata"].get("annotations", {})}, "spec": pod["spec"]}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"completions": completions, "parallelism": parallelism, "template": template, **spec}}


def _conditions(batch: client.BatchV1Api, name: str) -> dict[str, str]:
    job = batch.read_namespaced_job_status(name, "default")
    return {c.type: c.reason for c in (job.status.conditions or []) if c.status == "True"}


def _pods(core: client.CoreV1Api, name: str) -> list[Any]:
    return core.list_namespaced_pod("default", label_selector=f"batch.kubernetes.io/job-name={name}").items


def test_job_runs_its_completions_at_most_parallelism_at_a_time(api: client.ApiClient) -> None:
    """completions 3, parallelism 2: never more than 2 pods at once, then Complete with 3 succeeded."""
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job("default", _job("three", completions=3, parallelism=2))
    most = 0

    def complete() -> bool:
        nonlocal most
        running = [p for p in _pods(core, "three") if p.status.phase not in ("Succeeded", "Failed")]
        most = max(most, len(running))
        return "Complete" in _conditions(batch, "three")

    wait_for(complete, 60, "the Job to complete")
    job = batch.read_namespaced_job_status("three", "default")
    assert job.status.succeeded == 3 and not job.status.active and job.status.completion_time is not None
    assert _conditions(batch, "three") == {"SuccessCriteriaMet": "CompletionsReached",
                                           "Complete": "CompletionsReached"}  # fmt: skip
    assert 1 <= most <= 2


def test_failures_beyond_the_backoff_limit_fail_the_job(api: client.ApiClient) -> None:
    """Each pod fails (as its kubelet reports): after backoffLimit+1 failures the Job is Failed."""
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job("default", _job("flaky", completions=1, parallelism=1, runtime=None,
                                                backoffLimit=1))  # fmt: skip

    def fail_running() -> bool:
        for pod in _pods(core, "flaky"):
            if pod.status.phase == "Running":
                failed = {"status": {"phase": "Failed"}}
                core.patch_namespaced_pod_status(pod.metadata.name, "default", failed)
        return "Failed" in _conditions(batch, "flaky")

    wait_for(fail_running, 60, "the Job to fail")
    job = batch.read_namespaced_job_status("flaky", "default")
    assert job.status.failed == 2 and _conditions(batch, "flaky")["Failed"] == "BackoffLimitExceeded"


def test_suspended_job_creates_no_pods_until_resumed(api: client.ApiClient) -> None:
    """suspend: true (Kueue's hold) creates no pods; unsuspending starts them."""
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job("default", _job("held", completions=1, parallelism=1, suspend=True))
    merge = "application/merge-patch+json"
    seen = wait_for(lambda: batch.read_namespaced_job_status("held", "default").status.ready is not None, 30,
                    "the controller to see the Job")  # fmt: skip
    assert seen and _pods(core, "held") == []
    assert batch.read_namespaced_job_status("held", "default").status.start_time is None
    batch.patch_namespaced_job("held", "default", {"spec": {"suspend": False}}, _content_type=merge)
    wait_for(lambda: "Complete" in _conditions(batch, "held"), 60, "the resumed Job to complete")


def test_pods_of_a_deleted_job_are_deleted(api: client.ApiClient) -> None:
    """Deleting the Job deletes its pods (background propagation)."""
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job("default", _job("gone", completions=1, parallelism=1, runtime=None))
    wait_for(lambda: _pods(core, "gone"), 30, "the Job's pod")
    batch.delete_namespaced_job("gone", "default")
    wait_for(lambda: not _pods(core, "gone"), 30, "the pods to be deleted")
