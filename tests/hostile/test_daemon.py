"""One running daemon (real engine, audit log, Events, metrics, sandbox cluster) fed every
repository of the hostile corpus as a commit, one after another. For each: the revision is
rejected once (no retry loop), nothing is written but the Warning Event that reports it, the
last good revision stays the one the metrics name, and the error is logged. Afterwards a good
commit is still applied: the daemon neither crashed nor got stuck."""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest
from structlog.testing import capture_logs

from gpuctl.assembly import assemble
from reconciler.audit.query import AuditReader
from reconciler.daemon.events import REJECTED_REASON
from reconciler.daemon.settings import load_settings
from tests.daemon.gitrepos import AUTHOR
from tests.daemon.test_daemon import wait_until
from tests.hostile.corpus import CASES, EXAMPLE, HostileCase, write_case

pytestmark = pytest.mark.slow
QUOTA = "quotas/resource-quotas.yaml"
REVISION = "gpuctl.dev/revision"


def _commit_tree(repo: git.Repo, root: Path, case: HostileCase | None, message: str) -> str:
    """Replace the working tree with the example (plus the case's files) and commit it all."""
    for child in root.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if case is None:
        shutil.copytree(EXAMPLE, root, dirs_exist_ok=True)
    else:
        write_case(root, case)
    repo.git.add("-A")
    return repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha


class _Reported:
    """A report sink: told about a pass after the Events sink, so by then its Events are posted."""

    def __init__(self) -> None:
        self.revisions: list[str] = []

    def reconciled(self, item, report) -> None:
        self.revisions.append(report.revision)


def _sample(daemon, name: str, **labels: str) -> float:
    return daemon.metrics.registry.get_sample_value(name, labels) or 0.0


def _rejection_events(assembled) -> list[dict]:
    events = assembled.client.list_objects("v1", "Event")
    return [e for e in events if e.get("reason") == REJECTED_REASON]


def test_daemon_rejects_every_hostile_revision_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    """Each hostile commit is rejected once, reported (log, Event, metric), applies nothing,
    and a good commit afterwards is applied."""
    root = tmp_path / "repo"
    root.mkdir()
    repo = git.Repo.init(root, initial_branch="main")
    good = _commit_tree(repo, root, None, "good")
    settings = load_settings({
        "repo": str(root), "sandbox": True, "listen": "127.0.0.1:0",
        "audit_db": str(tmp_path / "audit.db"), "resync_interval": "1h", "leader_elect": False,
    })
    reported = _Reported()
    with capture_logs() as logs, assemble(settings, sinks=[reported]) as assembled:
        daemon = assembled.daemon
        daemon.start()
        assert wait_until(lambda: (daemon.status.snapshot()["last"] or {}).get("revision") == good, 90)
        assert daemon.status.snapshot()["last"]["result"] == "succeeded"
        cluster = assembled.sandbox
        assert wait_until(lambda: good in reported.revisions, 60)  # its Events are posted
        for number, case in enumerate(CASES, 1):
            before = cluster.write_count
            sha = _commit_tree(repo, root, case, f"hostile: {case.name}")
            assert wait_until(lambda sha=sha: (daemon.status.snapshot()["last"] or {}).get("revision") == sha,
                              60), case.name
            last = daemon.status.snapshot()["last"]
            assert last["result"] == "invalid" and f"{case.file}:" in last["error"], (case.name, last)
            assert _sample(daemon, "gpuctl_reconcile_total", result="invalid") == number, case.name
            assert _sample(daemon, "gpuctl_revision_info", revision=good) == 1, case.name
            events = lambda sha=sha: [  # noqa: E731
                e for e in _rejection_events(assembled) if e["metadata"]["annotations"][REVISION] == sha
            ]
            assert wait_until(events, 60), case.name
            assert cluster.write_count == before + 1, case.name  # the Warning Event, nothing else
        rejected = [entry for entry in logs if entry.get("event") == "revision rejected"]
        assert len(rejected) == len(CASES) and all(entry["log_level"] == "error" for entry in rejected)
        # Still alive and not stuck: a good change is applied.
        fixed = _commit_tree(repo, root, None, "good again")
        quota = root / QUOTA
        quota.write_text(quota.read_text().replace('pods: "64"', 'pods: "80"'))
        repo.index.add([QUOTA])
        raised = repo.index.commit("raise the pod cap", author=AUTHOR, committer=AUTHOR).hexsha
        assert fixed != raised
        assert wait_until(lambda: (daemon.status.snapshot()["last"] or {}).get("revision") == raised, 60)
        quota_obj = assembled.client.get("v1", "ResourceQuota", "gpu-cap", "team-research")
        assert quota_obj is not None and quota_obj["spec"]["hard"]["pods"] == "80"
    with AuditReader(tmp_path / "audit.db") as reader:
        outcomes = [r.outcome for r in reader.reconciles(500)]
    assert outcomes.count("invalid") == len(CASES)
