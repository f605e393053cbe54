"""Load test (the small version of `python -m bench.load`): a burst of commits to a
repository of a few hundred objects coalesces into far fewer reconciles, and nothing of
any commit is lost."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import yaml

from reconciler.audit.query import AuditReader
from tests.reliability.rig import (
    AUTHOR,
    GitRepo,
    RepoSpec,
    audit_changes,
    daemon_settings,
    running_daemon,
    sandbox_for,
    wait_until,
)

pytestmark = pytest.mark.slow

COMMITS = 30
BURST_S = 1.5
NAMESPACE = "team-00"


def burst_file(upto: int) -> str:
    names = [(f"burst-{i:03d}", i) for i in range(upto + 1)] + [("burst-counter", upto)]
    return yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NAMESPACE},
         "data": {"commit": str(commit)}}
        for name, commit in names
    ])


def test_commit_burst_coalesces_and_loses_nothing(tmp_path):
    """30 commits in 1.5 s to a 500-object repository: the daemon runs at most half as many
    reconciles as commits, ends on the last commit, and the cluster and the audit log hold
    every commit's ConfigMap (created exactly once) and the counter's last value."""
    repo = GitRepo(tmp_path / "repo", RepoSpec(configmaps=500))
    with sandbox_for(repo, 10.0) as sb:
        settings = daemon_settings(tmp_path, repo.path, sb.kubeconfig_path)
        with running_daemon(settings) as assembled:
            daemon = assembled.daemon
            assert wait_until(lambda: daemon.status.snapshot()["last"] is not None, 120)
            assert daemon.status.snapshot()["last"]["result"] == "succeeded"
            with AuditReader(tmp_path / "audit.db") as reader:
                before = len(reader.reconciles(10_000))
            started = time.monotonic()
            head = ""
            for i in range(COMMITS):
                (repo.path / "burst.yaml").write_text(burst_file(i))
                repo.repo.index.add(["burst.yaml"])
                head = repo.repo.index.commit(f"burst {i}", author=AUTHOR, committer=AUTHOR).hexsha
                time.sleep(max(0.0, started + (i + 1) * BURST_S / COMMITS - time.monotonic()))

            def head_applied() -> bool:
                last = daemon.status.snapshot()["last"]
                return last["revision"] == head and last["result"] in ("succeeded", "noop")

            assert wait_until(head_applied, 120)
        with AuditReader(tmp_path / "audit.db") as reader:
            passes = len(reader.reconciles(10_000)) - before
        changes = audit_changes(tmp_path / "audit.db")
        created = Counter(c["object"] for c in changes if c["action"] == "created")
        present = [sb.store.get(("", "configmaps"), (NAMESPACE, f"burst-{i:03d}")) for i in range(COMMITS)]
        counter = sb.store.get(("", "configmaps"), (NAMESPACE, "burst-counter"))
    assert 1 <= passes <= COMMITS // 2, passes
    assert all(cm is not None for cm in present)
    assert counter is not None and counter["data"]["commit"] == str(COMMITS - 1)
    assert all(created[f"ConfigMap/{NAMESPACE}/burst-{i:03d}"] == 1 for i in range(COMMITS))
    print(f"load test: {COMMITS} commits -> {passes} reconciles")
