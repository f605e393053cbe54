"""Crash tests: `gpuctl run` (a real process) is killed with SIGKILL at chosen points of
MIG rollouts (crash points of reconciler.crashpoints: after a write's intent and before the
write, after a node write or eviction and before its outcome, after the outcome, while
waiting for the MIG manager, inside an audit write, ...), on the sandbox (27 points over five
20-node rollouts) and on a real control plane whose GPU nodes `sandbox.remote.GpuNodes`
plays (one rollout, a kill after each node write kind and after an eviction). After restarts
the rollout finishes, no node stays cordoned, `gpuctl audit verify` passes with no write left
unrecorded, and every Node write and eviction the cluster shows (read from its watch
streams) has exactly one audit entry."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from reconciler.audit.query import AuditReader
from reconciler.rollout.waiting_taint import KEY as WAITING_TAINT
from tests.reliability.cluster_writes import NODES, PODS, WriteWatch, evictions, node_writes
from tests.reliability.crash_cluster import CrashCluster, crash_cluster, unique_prefix
from tests.reliability.daemon_process import ROOT, GpuctlRun, kill_at_each
from tests.reliability.rig import GitRepo, Pool, RepoSpec, audit_changes, wait_until

pytestmark = pytest.mark.slow

MIG = "all-1g.10gb"
# Rollouts all-balanced → all-1g.10gb, each on a fresh cluster (so that each test stays
# short), each interrupted by kills in a row, then finished by a clean run:
# (backend, nodes, maxUnavailable, pods to drain, the kills).
ROLLOUTS = [
    ("sandbox", 20, 4, 6, ["cordon-write:1", "evict:1", "evict-write:1", "relabel-write:1",
                           "uncordon-write:1"]),
    ("sandbox", 20, 4, 6, ["cordon-intent:2", "cordon-recorded:2", "relabel-recorded:1", "mig-wait:1",
                           "uncordon-recorded:1"]),
    ("sandbox", 20, 4, 6, ["evict-recorded:1", "audit-append:3", "audit-append:6", "cordon-write:3",
                           "relabel-write:3", "relabel-intent:1"]),
    ("sandbox", 20, 4, 6, ["waiting-taint-write:1", "uncordon-write:2", "evict:2", "mig-wait:5",
                           "audit-append:10"]),
    ("sandbox", 20, 4, 6, ["cordon-recorded:1", "relabel-recorded:4", "uncordon-recorded:3", "audit-append:2",
                           "uncordon-intent:1"]),
    # The real backend: after each node write kind's write (the waiting taint, cordon, relabel,
    # uncordon) and an eviction's (a formerly open window), before its outcome.
    ("real", 6, 2, 3, ["waiting-taint-write:1", "cordon-write:1", "evict-write:1", "relabel-write:1",
                       "uncordon-write:1"]),
]
SPEED = 150.0


def verify_audit(audit_db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpuctl", "audit", "verify", "--db", str(audit_db)],
                          cwd=ROOT, capture_output=True, text=True, check=False)


def audit_log_lines(audit_db: Path) -> list[str]:
    """`gpuctl audit log`'s text lines."""
    shown = subprocess.run([sys.executable, "-m", "gpuctl", "audit", "log", "--db", str(audit_db)],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    return shown.stdout.splitlines()


def launch_pods(cluster: CrashCluster, namespace: str, pool: str, nodes: int, pods: int) -> set[str]:
    """One long-running MIG-slice pod on each of a few nodes, so drains have work to do."""
    names = set()
    for i in range(pods):
        name = f"job{i}"
        cluster.launch_pod(namespace, name, f"{pool}-{(3 * i) % nodes}", "nvidia.com/mig-1g.10gb")
        names.add(name)
    return names


@pytest.mark.parametrize(("backend", "nodes", "max_unavailable", "pods", "points"), ROLLOUTS,
                         indirect=["backend"], ids=[f"{r[0]}-{i}" for i, r in enumerate(ROLLOUTS)])
def test_sigkill_at_the_write_points_of_mig_rollouts(tmp_path, request, backend: str, nodes: int,
                                                      max_unavailable: int, pods: int, points: list[str]):
    """SIGKILLs in a row during a rollout: it still finishes, no node stays cordoned, the audit
    chain verifies with no write left unrecorded, `audit log` shows each write on one line,
    and each Node write and eviction the cluster shows has exactly one audit entry."""
    prefix = unique_prefix()
    pool = f"{prefix}h100"
    spec = RepoSpec(pools=[Pool(pool, nodes, max_unavailable=max_unavailable)], configmaps=2, prefix=prefix)
    repo = GitRepo(tmp_path / "repo", spec)
    audit_db, log = tmp_path / "audit.db", tmp_path / "daemon.log"
    plane = request.getfixturevalue("control_plane") if backend == "real" else None
    killed: list[str] = []

    def run(crash_at: str | None = None) -> GpuctlRun:
        return GpuctlRun(repo.path, cluster.kubeconfig, audit_db, log, crash_at,
                         lease_namespace=spec.gpuctl_namespace)

    with crash_cluster(backend, repo, plane, SPEED) as cluster:
        cluster.ensure_namespace(spec.gpuctl_namespace)
        first = run()
        quota_namespace, pod_namespace = spec.namespace_names
        assert wait_until(lambda: cluster.quota(quota_namespace, "gpu-cap") is not None, 60), f"see {log}"
        assert first.terminate() == 0
        cluster.ensure_namespace(pod_namespace)
        launched = launch_pods(cluster, pod_namespace, pool, nodes, pods)
        assert wait_until(lambda: all(cluster.pod_running(pod_namespace, p) for p in launched), 60)
        with WriteWatch(cluster.kubeconfig, prefix, (NODES, PODS)) as watch:
            spec.pools[0].mig = MIG
            head = repo.commit(f"rollout to {MIG}")
            killed += kill_at_each(points, run, log)
            clean = run()
            finished = wait_until(lambda: cluster.rolled_out(pool, MIG), 120)
            assert clean.terminate() == 0
            assert finished, f"rollout to {MIG} did not finish; see {log}"
            check_one_entry_per_write(cluster, watch, audit_db, head, pool, pod_namespace, launched)
        verified = verify_audit(audit_db)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "not yet recorded" not in verified.stdout
    assert not [line for line in audit_log_lines(audit_db) if "no outcome recorded yet" in line]
    assert len(set(killed)) == len(killed) == len(points)
    print(f"crash points tested on {backend}: {len(killed)} ({', '.join(killed)})")


def _what(change: dict[str, object]) -> str:
    """A change's audit action, with a Node's taint writes (a `configured` whose patch
    replaces /spec/taints) named as `node_writes` names them."""
    patch = change.get("patch") or []
    taints = any(op.get("path") == "/spec/taints" for op in patch if isinstance(op, dict))  # type: ignore[union-attr]
    return "tainted" if change["action"] == "configured" and taints else str(change["action"])


def check_one_entry_per_write(cluster: CrashCluster, watch: WriteWatch, audit_db: Path, head: str, pool: str,
                              namespace: str, pods: set[str]) -> None:
    """Per node: one cordon, relabel and uncordon, as many taint writes (the waiting taint put
    on, and taken off by its own code or by the pass that clears the taints gpuctl no longer
    wants) as the cluster shows; per evicted pod: one eviction; each of them one audit entry, and no other."""
    with AuditReader(audit_db) as reader:
        ids = {r.reconcile_id for r in reader.reconciles(1000) if r.revision.get("sha") == head}
    recorded: Counter[tuple[str, str]] = Counter()
    for change in audit_changes(audit_db):
        if change["reconcile_id"] not in ids:
            continue
        recorded[(str(change["object"]), _what(change))] += 1
    shown = node_writes(watch, WAITING_TAINT)
    for node in cluster.pool_nodes(pool):
        name = f"Node/{node['metadata']['name']}"
        for action in ("cordoned", "relabelled", "uncordoned"):
            assert shown[(name, action)] == recorded[(name, action)] == 1, (name, action, shown, recorded)
    assert {k: n for k, n in recorded.items() if k[0].startswith("Node/")} == dict(shown)
    evicted = evictions(watch)
    gone = {f"Pod/{namespace}/{p}" for p in pods if cluster.pod_gone(namespace, p)}
    assert gone, "no pod was evicted"
    assert set(evicted) == gone and set(evicted.values()) == {1}, (evicted, gone)
    assert {k[0]: n for k, n in recorded.items() if k[1] == "evicted"} == dict(evicted)
