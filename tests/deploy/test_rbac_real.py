"""deploy/'s RBAC on a real, RBAC-enforcing API server: gpuctl running as deploy/'s
ServiceAccount applies desired_state/ to a fresh cluster, makes no write on the second pass and
prunes with --prune, and not one request of the whole daemon session (applies, inventory,
Lease, Events, drift watches, workload capture) is answered 403 Forbidden."""

from __future__ import annotations

import shutil
import threading
import time

import git
import pytest
from kubernetes import client as k8s

from reconciler.clock import SystemClock
from reconciler.cluster.client import KubeClusterClient
from reconciler.cluster.connection import ConnectionSpec
from reconciler.daemon.assembly import assemble
from reconciler.daemon.settings import load_settings
from reconciler.pipeline import ReconcileOptions, reconcile
from reconciler.source import load_directory
from schemas.results import ReconcileOutcome, RevisionInfo
from tests.daemon.gitrepos import AUTHOR
from tests.daemon.processes import wait_until
from tests.deploy.rbac_real_rig import ROOT, prepare

pytestmark = pytest.mark.slow
PRUNED = ("cluster/priorityclasses.yaml", "quotas/local-queues.yaml")


@pytest.fixture
def statuses(monkeypatch):
    """(method, url, HTTP status) of every request made through the official client's transport."""
    seen: list[tuple[str, str, int]] = []
    lock = threading.Lock()
    original = k8s.ApiClient.call_api

    def call_api(self, method, url, *args, **kwargs):
        response = original(self, method, url, *args, **kwargs)
        with lock:
            seen.append((method, url, int(response.status)))
        return response

    monkeypatch.setattr(k8s.ApiClient, "call_api", call_api)
    return seen


def _last(daemon):
    return daemon.status.snapshot()["last"] or {}


def test_deploy_service_account_applies_and_prunes_with_zero_forbidden(
    tmp_path, fresh_control_plane, statuses
):
    """As gpuctl-system/gpuctl on a fresh real cluster: first pass succeeds, second writes
    nothing, a commit removing two files prunes their objects; no request is Forbidden."""
    plane = fresh_control_plane()
    shutil.copytree(ROOT / "desired_state", tmp_path / "repo")
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    repo.git.add(A=True)
    repo.index.commit("example", author=AUTHOR, committer=AUTHOR)
    state = load_directory(tmp_path / "repo").state
    assert state is not None
    kubeconfig = prepare(plane, state.pools, tmp_path)
    settings = load_settings({
        "repo": str(tmp_path / "repo"), "kubeconfig": str(kubeconfig), "listen": "127.0.0.1:0",
        "audit_db": str(tmp_path / "audit.db"), "cache_dir": str(tmp_path / "cache"),
        "resync_interval": "1h", "prune": True, "capture": True,
        "lease_duration": "3s", "renew_deadline": "2s", "retry_period": "0.2s",
    })
    with assemble(settings) as assembled:
        daemon = assembled.daemon
        daemon.start()
        assert wait_until(lambda: _last(daemon).get("result") in ("succeeded", "failed"), 90)
        assert _last(daemon)["result"] == "succeeded", _last(daemon)
        for path in PRUNED:
            (tmp_path / "repo" / path).unlink()
        repo.git.add(A=True)
        commit = repo.index.commit("drop priority classes and local queues", author=AUTHOR, committer=AUTHOR)
        sha = commit.hexsha
        assert wait_until(lambda: _last(daemon).get("revision") == sha, 90)
        assert _last(daemon)["result"] == "succeeded", _last(daemon)
        time.sleep(1.0)  # drift watches and the capture keep listing meanwhile
    sa = KubeClusterClient.connect(ConnectionSpec(kubeconfig=str(kubeconfig)))
    try:
        again = reconcile(load_directory(tmp_path / "repo").state, sa, clock=SystemClock(),
                          revision=RevisionInfo(sha), options=ReconcileOptions(prune=True))  # fmt: skip
        assert again.outcome is ReconcileOutcome.NOOP, again.error
        assert again.changes.changed() == []
        names = {o["metadata"]["name"] for o in sa.list_objects("scheduling.k8s.io/v1", "PriorityClass")}
        assert not names & {"gpu-batch", "gpu-interactive", "gpu-production"}
        assert sa.list_objects("kueue.x-k8s.io/v1beta2", "LocalQueue") == []
    finally:
        sa.close()
    forbidden = [(m, u) for m, u, status in statuses if status == 403]
    assert forbidden == [], forbidden
    assert any(m == "DELETE" for m, _, s in statuses if s < 300)

