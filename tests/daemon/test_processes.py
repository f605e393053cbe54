"""`gpuctl run` as real processes against one sandbox: leader hand-over between two
replicas (never two writers), SIGTERM (finish, release the Lease, exit 0) and SIGKILL in the
middle of a MIG rollout (a new process resumes it; the audit log verifies and lost nothing)."""

import json
import signal
import subprocess
import sys
import threading

import pytest

import sandbox
from reconciler.audit.query import AuditReader
from reconciler.cluster import ConnectionSpec, KubeClusterClient
from reconciler.source import load_directory
from tests.daemon.gitrepos import AUTHOR
from tests.daemon.processes import ROOT, DaemonProcess, example_repo, wait_until

pytestmark = pytest.mark.slow
POOL = "pools/h100-inference.yaml"
TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


@pytest.fixture
def cluster_and_repo(tmp_path):
    repo = example_repo(tmp_path / "repo")
    state = load_directory(tmp_path / "repo").state
    with sandbox.start(sandbox.SandboxSpec.from_state(state), speed=20) as cluster:
        cluster.api.ensure_namespaces(["gpuctl-system"])
        yield cluster, repo, tmp_path


def test_two_processes_hand_over_the_lease_and_never_both_lead(cluster_and_repo):
    """Of two replicas one leads and one follows (ready); SIGTERM on the leader exits 0,
    releases the Lease, and the follower takes over at once; both never lead together."""
    cluster, _, tmp_path = cluster_and_repo
    replicas = [DaemonProcess(n, tmp_path / "repo", cluster.kubeconfig_path, tmp_path / "audit.db", tmp_path)
                for n in ("a", "b")]
    both_leading = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            running = [r for r in replicas if r.proc.poll() is None]
            if len(running) == 2 and all(r.is_leader() for r in running):
                both_leading.append(True)

    try:
        assert wait_until(lambda: sum(r.is_leader() for r in replicas) == 1, 60)
        sampler = threading.Thread(target=sample)
        sampler.start()
        leader = next(r for r in replicas if r.is_leader())
        follower = next(r for r in replicas if r is not leader)
        assert wait_until(lambda: (follower.get("/readyz") or (0,))[0] == 200, 30)
        assert wait_until(lambda: (leader.get("/readyz") or (0,))[0] == 200, 60)
        leader.signal(signal.SIGTERM)
        assert leader.wait() == 0
        assert wait_until(follower.is_leader, 60)
        stop.set()
        sampler.join()
        assert both_leading == []
        assert wait_until(lambda: json.loads(follower.get("/status")[1])["last"] is not None, 60)
        assert "lease released" in leader.log()
    finally:
        stop.set()
        for replica in replicas:
            replica.stop()


def rollout_nodes(client: KubeClusterClient) -> list[dict]:
    return [n for n in client.list_objects("v1", "Node")
            if n["metadata"]["labels"].get("gpuctl.dev/pool") == "h100-inference"]


def test_sigkill_mid_rollout_is_resumed_by_a_new_process(cluster_and_repo):
    """A daemon killed while a node is mid-rollout leaves progress on the Node; the next
    process finishes the rollout, and the audit log verifies with every node's changes."""
    cluster, repo, tmp_path = cluster_and_repo
    client = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(cluster.kubeconfig_path)))
    audit_db = tmp_path / "audit.db"
    first = DaemonProcess("first", tmp_path / "repo", cluster.kubeconfig_path, audit_db, tmp_path)
    second = None
    try:
        assert wait_until(lambda: first.metric("gpuctl_reconcile_total") is not None, 60)
        cluster.launch_gpu_pods("serve", 2, namespace="team-llm", resource="nvidia.com/mig-1g.10gb",
                                node_selector={"gpuctl.dev/pool": "h100-inference"}, tolerations=TOLERATE_GPU)
        pool = tmp_path / "repo" / POOL
        pool.write_text(pool.read_text().replace("config: all-balanced", "config: inference-small"))
        repo.index.add([POOL])
        repo.index.commit("inference-small layout", author=AUTHOR, committer=AUTHOR)

        def mid_rollout() -> bool:
            return any("gpuctl.dev/rollout-phase" in (n["metadata"].get("annotations") or {})
                       for n in rollout_nodes(client))

        assert wait_until(mid_rollout, 60)
        first.signal(signal.SIGKILL)
        first.wait()
        assert mid_rollout()  # progress survived the crash, on the Node
        second = DaemonProcess("second", tmp_path / "repo", cluster.kubeconfig_path, audit_db, tmp_path)

        def finished() -> bool:
            nodes = rollout_nodes(client)
            return all(n["metadata"]["labels"].get("nvidia.com/mig.config") == "inference-small"
                       and n["metadata"]["labels"].get("nvidia.com/mig.config.state") == "success"
                       and not n["spec"].get("unschedulable")
                       and "gpuctl.dev/rollout-phase" not in (n["metadata"].get("annotations") or {})
                       for n in nodes)

        assert wait_until(finished, 120, step_s=0.2)
        pool_nodes = {n["metadata"]["name"] for n in rollout_nodes(client)}
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
    finally:
        client.close()
        first.stop()
        if second is not None:
            second.stop()
    verify = subprocess.run([sys.executable, "-m", "gpuctl", "audit", "verify", "--db", str(audit_db)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with AuditReader(audit_db) as reader:
        changes = [e.content for e in reader.entries() if e.content.get("type") == "change"]
    by_action: dict[str, set[str]] = {}
    for change in changes:
        if change["ref"]["kind"] == "Node":
            by_action.setdefault(change["action"], set()).add(change["ref"]["name"])
    assert by_action.get("relabelled") == pool_nodes
    assert by_action.get("cordoned") and by_action["cordoned"] == by_action.get("uncordoned")
