"""Crash tests: `gpuctl run` (a real process) is killed with SIGKILL at 26 chosen points of
20-node MIG rollouts (crash points of reconciler.crashpoints: after a write's intent and
before the write, after a node write or eviction and before its outcome, after the outcome,
while waiting for the MIG manager, inside an audit write, ...). After restarts the rollout
finishes, no node stays cordoned, `gpuctl audit verify` passes with no write left unrecorded
and every change the cluster shows has exactly one audit entry."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from reconciler.audit.query import AuditReader
from tests.reliability.daemon_process import ROOT, GpuctlRun
from tests.reliability.rig import (
    GitRepo,
    Pool,
    RepoSpec,
    audit_changes,
    pool_nodes,
    rolled_out,
    sandbox_for,
    wait_until,
)

pytestmark = pytest.mark.slow

NODES = 20
POOL = "h100"
# Five rollouts (all-balanced → all-1g.10gb, each on a fresh cluster, so that each test stays
# short), each interrupted by four to six kills in a row, then finished by a clean run.
MIG = "all-1g.10gb"
ROLLOUTS = [
    ["cordon-write:1", "evict:1", "evict-write:1", "relabel-write:1", "uncordon-write:1"],
    ["cordon-intent:2", "cordon-recorded:2", "relabel-recorded:1", "mig-wait:1", "uncordon-recorded:1"],
    ["evict-recorded:1", "audit-append:3", "audit-append:6", "cordon-write:3", "relabel-write:3",
     "relabel-intent:1"],
    ["uncordon-write:2", "evict:2", "mig-wait:5", "audit-append:10"],
    ["cordon-recorded:1", "relabel-recorded:4", "uncordon-recorded:3", "audit-append:2", "uncordon-intent:1"],
]
PODS_PER_ROLLOUT = 6


def launch_pods(sb, round_: int) -> set[str]:
    """One long-running MIG-slice pod on each of a few nodes, so drains have work to do."""
    names: set[str] = set()
    for i in range(PODS_PER_ROLLOUT):
        node = f"{POOL}-{(3 * i + round_) % NODES}"
        names.update(sb.launch_gpu_pods(f"r{round_}-job{i}", 1, resource="nvidia.com/mig-1g.10gb",
                                        node_selector={"kubernetes.io/hostname": node}))
    return names


def verify_audit(audit_db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpuctl", "audit", "verify", "--db", str(audit_db)],
                          cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("round_", range(len(ROLLOUTS)))
def test_sigkill_at_the_write_points_of_mig_rollouts(tmp_path, round_: int):
    """SIGKILLs in a row during a 20-node rollout (26 distinct points over the five rounds):
    the rollout still finishes, no node stays cordoned, the audit chain verifies with no write
    left unrecorded, and each node write and eviction has exactly one audit entry."""
    repo = GitRepo(tmp_path / "repo", RepoSpec(pools=[Pool(POOL, NODES, max_unavailable=4)], configmaps=2))
    audit_db, log = tmp_path / "audit.db", tmp_path / "daemon.log"
    killed: list[str] = []
    with sandbox_for(repo, 150.0) as sb:
        sb.api.ensure_namespaces(("gpuctl-system",))
        first = GpuctlRun(repo.path, sb.kubeconfig_path, audit_db, log)
        quota = ("", "resourcequotas"), ("team-00", "gpu-cap")
        assert wait_until(lambda: sb.store.get(*quota) is not None, 60)
        assert first.terminate() == 0
        points = ROLLOUTS[round_]
        pods = launch_pods(sb, round_)
        assert wait_until(lambda p=pods: all(  # type: ignore[misc]
            (sb.store.get(("", "pods"), ("default", n)) or {}).get("status", {}).get("phase") == "Running"
            for n in p), 60)
        repo.spec.pools[0].mig = MIG
        head = repo.commit(f"rollout {round_}: {MIG}")
        for point in points:
            run = GpuctlRun(repo.path, sb.kubeconfig_path, audit_db, log, crash_at=point)
            code = run.wait(90)
            run.close()
            assert code == -signal.SIGKILL, f"{point}: not reached (exit {code}); see {log}"
            killed.append(point)
        clean = GpuctlRun(repo.path, sb.kubeconfig_path, audit_db, log)
        finished = wait_until(lambda: rolled_out(sb, POOL, MIG), 120)
        assert clean.terminate() == 0
        assert finished, f"rollout {round_} to {MIG} did not finish; see {log}"
        check_one_entry_per_change(sb, audit_db, head, pods)
        verified = verify_audit(audit_db)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "not yet recorded" not in verified.stdout
    assert len(set(killed)) == len(killed) == len(ROLLOUTS[round_])
    print(f"crash points tested: {len(killed)} ({', '.join(killed)})")


def check_one_entry_per_change(sb, audit_db: Path, head: str, pods: set[str]) -> None:
    with AuditReader(audit_db) as reader:
        ids = {r.reconcile_id for r in reader.reconciles(1000) if r.revision.get("sha") == head}
    counts = Counter((c["object"], c["action"]) for c in audit_changes(audit_db) if c["reconcile_id"] in ids)
    for node in pool_nodes(sb, POOL):
        name = f"Node/{node['metadata']['name']}"
        for action in ("cordoned", "relabelled", "uncordoned"):
            assert counts[(name, action)] == 1, (name, action, counts[(name, action)])
    gone = {p for p in pods if sb.store.get(("", "pods"), ("default", p)) is None}
    assert gone, "no pod was evicted"
    for pod in gone:
        assert counts[(f"Pod/default/{pod}", "evicted")] == 1, pod
