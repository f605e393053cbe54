"""Reading Pods into capture records: the GPU request, the owning job, times and outcome."""

from __future__ import annotations

from typing import Any

from reconciler.capture.pods import Outcome, gpu_request, job_identity, pod_record


def pod(**meta: Any) -> dict[str, Any]:
    containers = meta.pop("containers", [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": "2"}}}])
    status = meta.pop("status", {"phase": "Pending"})
    return {
        "metadata": {"name": "p-0", "namespace": "team-a", "uid": "u-1",
                     "creationTimestamp": "2026-01-01T00:00:00Z", **meta},
        "spec": {"containers": containers, "priority": 100},
        "status": status,
    }


def test_containers_add_up_and_init_containers_count_only_when_larger():
    """Two containers' GPUs add up; an init container asking for more sets the pod's request."""
    two = pod(containers=[{"resources": {"limits": {"nvidia.com/gpu": "1"}}},
                          {"resources": {"requests": {"nvidia.com/gpu": "1"}}}])
    assert gpu_request(two) == ("nvidia.com/gpu", 2)
    two["spec"]["initContainers"] = [{"resources": {"limits": {"nvidia.com/gpu": "4"}}}]
    assert gpu_request(two) == ("nvidia.com/gpu", 4)


def test_mig_and_shared_resources_are_gpu_requests_and_cpu_pods_are_not():
    """MIG and shared (time-sliced) resources count; a CPU-only pod is not captured."""
    mig = pod(containers=[{"resources": {"limits": {"nvidia.com/mig-3g.40gb": "1", "cpu": "2"}}}])
    assert gpu_request(mig) == ("nvidia.com/mig-3g.40gb", 1)
    shared = pod(containers=[{"resources": {"limits": {"nvidia.com/gpu.shared": "1"}}}])
    assert gpu_request(shared) == ("nvidia.com/gpu.shared", 1)
    assert pod_record(pod(containers=[{"resources": {"limits": {"cpu": "2"}}}])) is None


def test_owner_labels_group_pods_without_owner_references():
    """Without ownerReferences, the controllers' job-name labels still name the job."""
    labelled = pod(labels={"training.kubeflow.org/job-name": "bert"})
    assert job_identity(labelled) == ("team-a/PyTorchJob/bert", "PyTorchJob", "bert")
    ray = pod(labels={"ray.io/cluster": "llm", "ray.io/group": "gpu-workers"})
    assert job_identity(ray) == ("team-a/RayCluster/llm/gpu-workers", "RayCluster", "llm/gpu-workers")
    assert job_identity(pod()) == ("u-1", "Pod", "p-0")


def test_times_and_outcome_follow_the_container_statuses():
    """Start is the first container running; end the last container finished; phase the outcome."""
    first = {"startedAt": "2026-01-01T00:01:00Z", "finishedAt": "2026-01-01T00:05:00Z"}
    second = {"startedAt": "2026-01-01T00:02:00Z", "finishedAt": "2026-01-01T00:06:00Z"}
    status = {"phase": "Failed", "containerStatuses": [{"state": {"terminated": first}},
                                                       {"state": {"terminated": second}}]}
    record = pod_record(pod(status=status, labels={"kueue.x-k8s.io/queue-name": "train"}))
    assert record is not None
    assert (record.finished - record.created, record.started - record.created) == (360, 60)
    assert (record.outcome, record.queue, record.priority) == (Outcome.FAILED, "train", 100)
    assert record.per_pod == 2
    running = pod_record(pod(status={"phase": "Running", "containerStatuses": [
        {"state": {"running": {"startedAt": "2026-01-01T00:00:30Z"}}}]}))
    assert running is not None and (running.outcome, running.finished) == (Outcome.RUNNING, None)
    assert running.deleted(running.created + 90).outcome == Outcome.DELETED
