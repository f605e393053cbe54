"""gpuctl as it is meant to be used first: the image built here, installed with deploy/ (through
a test overlay) as two Pods on a real node of a real, RBAC-enforcing control plane, following a
Git repository, beside four emulated GPU nodes (sandbox.remote). The tests share one environment
and run in order: first apply and leader election, a commit, drift, a MIG rollout with the
leader deleted halfway, then the audit log the Pods wrote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.node.image_spec import GPUCTL_IMAGE
from sandbox.node.oci import read_config
from tests.incluster.environment import NAMESPACE, POOL_NODES, InCluster, config_map, gpu_pool

# The first test also starts the environment (building the image's base layer on a cold cache).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _pid(incluster: InCluster, pod_name: str) -> int:
    pod = incluster.core.read_namespaced_pod(pod_name, NAMESPACE)
    container_id = pod.status.container_statuses[0].container_id.split("://", 1)[1]
    for line in incluster.node.ctr("tasks", "ls").splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == container_id:
            return int(fields[1])
    raise LookupError(container_id)


def _leader_ready(incluster: InCluster) -> bool:
    leader = incluster.leader()
    return leader is not None and leader in {pod.metadata.name for pod in incluster.ready_pods()}


def test_pods_become_ready_and_one_leads(incluster: InCluster) -> None:
    """Both replicas become Ready; one holds the Lease and applied the first revision, the other follows."""
    incluster.wait("two Ready Pods", lambda: len(incluster.ready_pods()) == 2, timeout_s=180)
    incluster.wait("a leader among the Ready Pods", lambda: _leader_ready(incluster))
    incluster.wait("the first revision's ConfigMap", lambda: incluster.config_revision() == "one")
    leader = incluster.leader()
    for pod in incluster.ready_pods():
        metrics = incluster.http_get(pod, "/metrics")
        expected = "gpuctl_leader 1.0" if pod.metadata.name == leader else "gpuctl_leader 0.0"
        assert expected in metrics, (pod.metadata.name, leader)


def test_image_runs_as_its_user_with_the_dockerfile_config(incluster: InCluster) -> None:
    """The Pod's process is the image user's Python 3.11, from an image whose config is the Dockerfile's."""
    config = read_config(incluster.workdir / "gpuctl-image.tar")["config"]
    assert isinstance(config, dict)
    assert config["User"] == f"{GPUCTL_IMAGE.uid}:{GPUCTL_IMAGE.gid}"
    assert tuple(config["Entrypoint"]) == GPUCTL_IMAGE.entrypoint
    assert tuple(config["Cmd"]) == GPUCTL_IMAGE.cmd
    pid = _pid(incluster, incluster.ready_pods()[0].metadata.name)
    status = Path(f"/proc/{pid}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == [str(GPUCTL_IMAGE.uid)] * 4
    assert Path(f"/proc/{pid}/exe").readlink().as_posix() == f"/usr/bin/python{GPUCTL_IMAGE.python_version}"


def test_commit_reaches_the_cluster(incluster: InCluster) -> None:
    """A commit pushed to the repository is applied from inside the cluster and reported in /metrics."""
    sha = incluster.commit({"config.yaml": config_map("two")}, "gpu-settings: two")
    incluster.wait("the commit's ConfigMap", lambda: incluster.config_revision() == "two")
    (leader,) = [pod for pod in incluster.ready_pods() if pod.metadata.name == incluster.leader()]
    metrics = incluster.http_get(leader, "/metrics")
    assert f'gpuctl_revision_info{{revision="{sha}"}} 1.0' in metrics


def test_drift_is_corrected(incluster: InCluster) -> None:
    """An edit behind gpuctl's back is put back by the leader's drift watch."""
    incluster.core.patch_namespaced_config_map("gpu-settings", "team-a", {"data": {"revision": "tampered"}})
    incluster.wait("the drift correction", lambda: incluster.config_revision() == "two")
    (leader,) = [pod for pod in incluster.ready_pods() if pod.metadata.name == incluster.leader()]
    metrics = incluster.http_get(leader, "/metrics")
    corrections = [line for line in metrics.splitlines() if line.startswith("gpuctl_drift_corrections_total")]
    assert corrections and float(corrections[0].split()[-1]) >= 1, corrections


def test_rollout_resumes_when_the_leader_is_deleted_mid_rollout(incluster: InCluster) -> None:
    """A MIG change rolls out node by node; deleting the leader's Pod mid-rollout hands the
    Lease to the follower, which finishes the rollout and applies the next commit, while the
    replacement Pod becomes Ready as a follower."""
    incluster.commit({"pools/a100.yaml": gpu_pool("all-3g.40gb")}, "a100: all-3g.40gb")
    incluster.wait("the first node of the rollout", lambda: incluster.mig_done("all-3g.40gb") >= 1)
    assert incluster.mig_done("all-3g.40gb") < POOL_NODES, "the rollout finished before the deletion"
    old = incluster.leader()
    assert old is not None
    (follower,) = [pod.metadata.name for pod in incluster.ready_pods() if pod.metadata.name != old]
    incluster.core.delete_namespaced_pod(old, NAMESPACE)
    incluster.wait("the follower to take the Lease", lambda: incluster.leader() == follower)
    incluster.wait("the rollout to finish", lambda: incluster.mig_done("all-3g.40gb") == POOL_NODES,
                   timeout_s=180)
    incluster.commit({"config.yaml": config_map("three")}, "gpu-settings: three")
    incluster.wait("the new leader's apply", lambda: incluster.config_revision() == "three")
    incluster.wait("the replacement Pod Ready", lambda: len(incluster.ready_pods()) == 2, timeout_s=180)
    assert incluster.leader() == follower


def test_audit_log_on_the_volume_verifies(incluster: InCluster) -> None:
    """`gpuctl audit verify` passes on the audit volume both replicas wrote to."""
    database = incluster.audit_dir / "audit.db"
    assert database.exists()
    result = subprocess.run(
        [sys.executable, "-m", "gpuctl", "audit", "verify", "--db", str(database)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
