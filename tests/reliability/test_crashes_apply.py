"""Crash tests of applies and prunes: `gpuctl run` (a real process) is killed with SIGKILL at
the write-ahead points of server-side applies, deletes and the inventory write (after the
intent, after the write, after the outcome, inside an audit append), on the sandbox (10
points; the parameter is the `backend` fixture's, the real backend not yet listed). After
restarts the revision is applied, `gpuctl audit verify` passes with no write left
unrecorded, and every write the cluster shows (read from its watch streams: each object of
gpuctl's created, given new content or deleted) has exactly one audit record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconciler.audit.query import AuditReader
from tests.reliability.cluster_writes import CONFIGMAPS, QUOTAS, WriteWatch, object_writes
from tests.reliability.crash_cluster import CrashCluster, crash_cluster, unique_prefix
from tests.reliability.daemon_process import GpuctlRun, kill_at_each
from tests.reliability.rig import GitRepo, RepoSpec, audit_changes, wait_until
from tests.reliability.test_crashes import verify_audit

pytestmark = pytest.mark.slow

# Per backend: (ConfigMaps in the revision, the quota's pod limit, the kills in a row before a
# clean run). The real backend is not listed yet: its run did not finish in time (see
# docs/reliability.md).
ROUNDS = {
    "sandbox": [
        (8, 80, ["apply-intent:1", "audit-append:4", "apply-write:2", "apply-recorded:2",
                 "inventory-write:1"]),
        (3, 96, ["apply-write:1", "delete-intent:1", "delete-write:2", "delete-recorded:1",
                 "inventory-intent:1"]),
    ],
}
_KINDS = ("ConfigMap", "ResourceQuota")


def applied(cluster: CrashCluster, spec: RepoSpec, configmaps: int, quota_pods: int) -> bool:
    """The revision is on the cluster: exactly its ConfigMaps, and the quota's limit."""
    names = {f"settings-{i:05d}" for i in range(configmaps)}
    quota = cluster.quota(spec.namespace_names[0], "gpu-cap") or {}
    return (cluster.configmap_names(spec.prefix, "settings-") == names
            and quota.get("spec", {}).get("hard", {}).get("pods") == str(quota_pods))


def audit_records(audit_db: Path, head: str) -> Counter[tuple[str, str]]:
    """The audit records of the reconciles of `head`, as (object, action), for the same kinds."""
    with AuditReader(audit_db) as reader:
        ids = {r.reconcile_id for r in reader.reconciles(1000) if r.revision.get("sha") == head}
    return Counter(
        (c["object"], c["action"]) for c in audit_changes(audit_db)
        if c["reconcile_id"] in ids and c["object"].split("/")[0] in _KINDS
        and c["action"] in ("created", "configured", "deleted")
    )


@pytest.mark.parametrize("backend", list(ROUNDS), indirect=True)
def test_sigkill_at_the_write_points_of_applies_and_prunes(tmp_path, request, backend: str):
    """SIGKILLs across a revision that creates and configures objects and one that prunes
    them: each revision is applied in the end, the audit chain verifies with no write left
    unrecorded, and every write the cluster shows has exactly one audit record."""
    prefix = unique_prefix()
    spec = RepoSpec(configmaps=2, quota_pods=64, prefix=prefix)
    repo = GitRepo(tmp_path / "repo", spec)
    audit_db, log = tmp_path / "audit.db", tmp_path / "daemon.log"
    plane = request.getfixturevalue("control_plane") if backend == "real" else None
    killed: list[str] = []

    def run(crash_at: str | None = None) -> GpuctlRun:
        return GpuctlRun(repo.path, cluster.kubeconfig, audit_db, log, crash_at, prune=True,
                         lease_namespace=spec.gpuctl_namespace)

    with crash_cluster(backend, repo, plane, 150.0) as cluster:
        cluster.ensure_namespace(spec.gpuctl_namespace)
        first = run()
        first_done = wait_until(lambda: applied(cluster, spec, 2, 64), 60)
        assert first_done, f"initial revision not applied; see {log}"
        assert first.terminate() == 0
        for configmaps, quota_pods, points in ROUNDS[backend]:
            with WriteWatch(cluster.kubeconfig, prefix, (CONFIGMAPS, QUOTAS)) as watch:
                spec.configmaps, spec.quota_pods = configmaps, quota_pods
                head = repo.commit(f"{configmaps} ConfigMaps, quota {quota_pods}")
                killed += kill_at_each(points, run, log)
                clean = run()
                done = wait_until(  # type: ignore[misc]
                    lambda c=configmaps, q=quota_pods: applied(cluster, spec, c, q), 60)
                verified = wait_until(lambda: "not yet recorded" not in verify_audit(audit_db).stdout, 30)
                assert clean.terminate() == 0
                assert done, f"revision {head} not applied; see {log}"
                assert verified, verify_audit(audit_db).stdout
                writes = object_writes(watch, (CONFIGMAPS, QUOTAS))
            assert writes and audit_records(audit_db, head) == writes
        result = verify_audit(audit_db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not yet recorded" not in result.stdout
    expected = sum(len(points) for _, _, points in ROUNDS[backend])
    assert len(set(killed)) == len(killed) == expected
    print(f"crash points tested on {backend}: {len(killed)} ({', '.join(killed)})")
