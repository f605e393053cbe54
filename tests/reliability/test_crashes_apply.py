"""Crash tests of applies and prunes: `gpuctl run` (a real process) is killed with SIGKILL at
the write-ahead points of server-side applies, deletes and the inventory write (after the
intent, after the write, after the outcome, inside an audit append). After restarts the
revision is applied, `gpuctl audit verify` passes with no write left unrecorded, and every
write the cluster shows (each ADDED, MODIFIED and DELETED event of the objects gpuctl
manages) has exactly one audit record."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest

from reconciler.audit.query import AuditReader
from sandbox import Sandbox
from tests.reliability.daemon_process import GpuctlRun
from tests.reliability.rig import GitRepo, RepoSpec, audit_changes, sandbox_for, wait_until
from tests.reliability.test_crashes import verify_audit

pytestmark = pytest.mark.slow

# (ConfigMaps in the revision, the quota's pod limit, the kills in a row before a clean run)
ROUNDS = [
    (8, 80, ["apply-intent:1", "audit-append:4", "apply-write:2", "apply-recorded:2",
             "inventory-write:1"]),
    (3, 96, ["apply-write:1", "delete-intent:1", "delete-write:2", "delete-recorded:1",
             "inventory-intent:1"]),
]
_ACTIONS = {"ADDED": "created", "MODIFIED": "configured", "DELETED": "deleted"}
_KINDS = {("", "configmaps"): "ConfigMap", ("", "resourcequotas"): "ResourceQuota"}


def applied(sb: Sandbox, configmaps: int, quota_pods: int) -> bool:
    """The revision is on the cluster: exactly its ConfigMaps, and the quota's limit."""
    names = {f"settings-{i:05d}" for i in range(configmaps)}
    live = {o["metadata"]["name"] for o in sb.store.list_objects(("", "configmaps"))[0]
            if o["metadata"]["name"].startswith("settings-")}
    quota = sb.store.get(("", "resourcequotas"), ("team-00", "gpu-cap")) or {}
    return live == names and quota.get("spec", {}).get("hard", {}).get("pods") == str(quota_pods)


def cluster_writes(sb: Sandbox, since_rv: int) -> Counter[tuple[str, str]]:
    """Each write the cluster shows since `since_rv`, as (object, audit action)."""
    writes: Counter[tuple[str, str]] = Counter()
    for event in sb.store.events_after(since_rv):
        kind = _KINDS.get(event.resource)
        if kind is not None:
            meta = event.obj["metadata"]
            writes[(f"{kind}/{meta.get('namespace', '')}/{meta['name']}", _ACTIONS[event.type])] += 1
    return writes


def audit_records(audit_db: Path, head: str) -> Counter[tuple[str, str]]:
    """The audit records of the reconciles of `head`, as (object, action), for the same kinds."""
    with AuditReader(audit_db) as reader:
        ids = {r.reconcile_id for r in reader.reconciles(1000) if r.revision.get("sha") == head}
    return Counter(
        (c["object"], c["action"]) for c in audit_changes(audit_db)
        if c["reconcile_id"] in ids and c["object"].split("/")[0] in _KINDS.values()
        and c["action"] in _ACTIONS.values()
    )


def test_sigkill_at_the_write_points_of_applies_and_prunes(tmp_path):
    """10 SIGKILLs across a revision that creates and configures objects and one that prunes
    them: each revision is applied in the end, the audit chain verifies with no write left
    unrecorded, and every write the cluster shows has exactly one audit record."""
    repo = GitRepo(tmp_path / "repo", RepoSpec(configmaps=2, quota_pods=64))
    audit_db, log = tmp_path / "audit.db", tmp_path / "daemon.log"
    killed: list[str] = []
    with sandbox_for(repo, 150.0) as sb:
        sb.api.ensure_namespaces(("gpuctl-system",))
        first = GpuctlRun(repo.path, sb.kubeconfig_path, audit_db, log, prune=True)
        assert wait_until(lambda: applied(sb, 2, 64), 60), f"initial revision not applied; see {log}"
        assert first.terminate() == 0
        for configmaps, quota_pods, points in ROUNDS:
            since = sb.store.resource_version
            repo.spec.configmaps, repo.spec.quota_pods = configmaps, quota_pods
            head = repo.commit(f"{configmaps} ConfigMaps, quota {quota_pods}")
            for point in points:
                run = GpuctlRun(repo.path, sb.kubeconfig_path, audit_db, log, crash_at=point, prune=True)
                code = run.wait(90)
                run.close()
                assert code == -signal.SIGKILL, f"{point}: not reached (exit {code}); see {log}"
                killed.append(point)
            clean = GpuctlRun(repo.path, sb.kubeconfig_path, audit_db, log, prune=True)
            done = wait_until(lambda c=configmaps, q=quota_pods: applied(sb, c, q), 60)  # type: ignore[misc]
            verified = wait_until(lambda: "not yet recorded" not in verify_audit(audit_db).stdout, 30)
            assert clean.terminate() == 0
            assert done, f"revision {head} not applied; see {log}"
            assert verified, verify_audit(audit_db).stdout
            writes = cluster_writes(sb, since)
            assert writes and audit_records(audit_db, head) == writes
        result = verify_audit(audit_db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not yet recorded" not in result.stdout
    assert len(set(killed)) == len(killed) == 10
    print(f"crash points tested: {len(killed)} ({', '.join(killed)})")
