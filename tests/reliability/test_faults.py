"""Fault tests: the daemon against a sandbox whose API fails, throttles, hangs or goes away,
whose MIG manager fails on some nodes, and against a Git remote that disappears or is
force-pushed. Each test checks that reconciles converge, nothing is applied twice, and
the failure is visible (readiness, metrics, audit log). The outage and Event tests run on a
real control plane too, its API failing through the fault proxy (`sandbox.faultproxy`)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git
import pytest

from reconciler.audit.query import AuditReader
from reconciler.cluster import ConnectionSpec
from reconciler.cluster.connection import api_client_for
from reconciler.cluster.events import KubeEventRecorder
from sandbox.faultproxy import FaultProxy, Upstream
from sandbox.faults import Faults
from schemas.refs import ObjectRef
from tests.reliability.rig import (
    GitRepo,
    Pool,
    RepoSpec,
    audit_changes,
    change_counts,
    daemon_settings,
    pool_nodes,
    repeated_changes,
    rolled_out,
    running_daemon,
    sandbox_for,
    wait_until,
)

pytestmark = pytest.mark.slow

SPEED = 100.0


def http_status(port: int, path: str) -> int | None:
    """The daemon's answer to GET `path` (None when it does not answer)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def readyz(port: int) -> int | None:
    return http_status(port, "/readyz")


def quota_pods(sb) -> str | None:
    quota = sb.store.get(("", "resourcequotas"), ("team-00", "gpu-cap"))
    return None if quota is None else quota["spec"]["hard"]["pods"]


def test_ten_percent_api_faults_converge_without_double_changes(tmp_path):
    """With 10% of API requests answering 500, 429 or hanging past the client's patience, a
    commit changing objects and a pool's MIG layout still converges; no object gets the same
    change twice for one revision, and the passes needed stay bounded."""
    repo = GitRepo(tmp_path / "repo", RepoSpec(pools=[Pool("h100", 6, max_unavailable=2)], configmaps=30))
    with sandbox_for(repo, SPEED) as sb:
        settings = daemon_settings(tmp_path, repo.path, sb.kubeconfig_path)
        with running_daemon(settings) as assembled:
            daemon = assembled.daemon
            assert wait_until(lambda: daemon.status.snapshot()["last"] is not None
                              and daemon.status.snapshot()["last"]["result"] in ("succeeded", "noop"), 60)
            sb.faults.reseed(8)
            sb.faults.error_rate, sb.faults.throttle_rate, sb.faults.timeout_rate = 0.04, 0.04, 0.02
            sb.faults.timeout_seconds = 0.5
            heads = []
            for round_, (mig, pods) in enumerate((("all-1g.10gb", 80), ("all-balanced", 96))):
                repo.spec.quota_pods = pods
                repo.spec.configmaps = 40 + 10 * round_
                repo.spec.pools[0].mig = mig
                heads.append(repo.commit(f"round {round_}: more settings, {mig}, pod cap {pods}"))
                def done(m=mig, p=pods):
                    return (rolled_out(sb, "h100", m) and quota_pods(sb) == str(p))
                assert wait_until(done, 120)
                assert wait_until(lambda: daemon.status.snapshot()["last"]["revision"] == heads[-1]
                                  and daemon.status.snapshot()["last"]["result"] in ("succeeded", "noop"), 60)
            injected = sum(sb.faults.injected.values())
            sb.faults.clear()
            history = daemon.status.snapshot()["history"]
        with AuditReader(tmp_path / "audit.db") as reader:
            summaries = reader.reconciles(100)
        all_changes = audit_changes(tmp_path / "audit.db")
    nodes = {f"Node/{n['metadata']['name']}" for n in pool_nodes(sb, "h100")}
    for round_, head in enumerate(heads):
        ids = {r.reconcile_id for r in summaries if r.revision.get("sha") == head}
        changes = [c for c in all_changes if c["reconcile_id"] in ids]
        counts = change_counts(changes)
        assert counts and not repeated_changes(changes), repeated_changes(changes)
        new = range(30 + 10 * round_, 40 + 10 * round_)
        added = {f"ConfigMap/team-{i % 2:02d}/settings-{i:05d}" for i in new}
        assert added <= {obj for obj, _ in counts}
        assert all((node, action) in counts for node in nodes for action in ("relabelled", "uncordoned"))
        assert len([h for h in history if h["revision"] == head]) <= 10
    assert injected >= 15, f"only {injected} faults were injected"
    print(f"faults injected and survived: {injected}")


OUTAGE_S = 8.0


@dataclass
class FaultyCluster:
    """A cluster whose API can be made to fail: the sandbox's own fault injection, or the
    session's real control plane behind the fault proxy (read directly, not through it)."""

    faults: Faults
    kubeconfig: Path
    quota_pods: Callable[[], str | None]
    ensure_namespace: Callable[[str], None]


@contextmanager
def faulty_cluster(backend: str, repo: GitRepo, request, tmp_path: Path) -> Iterator[FaultyCluster]:
    if backend == "sandbox":
        with sandbox_for(repo, SPEED) as sb:
            yield FaultyCluster(sb.faults, sb.kubeconfig_path, lambda: quota_pods(sb),
                                lambda ns: sb.api.ensure_namespaces((ns,)))
        return
    from kubernetes import client, config

    plane = request.getfixturevalue("control_plane")
    api = config.new_client_from_config(config_file=str(plane.kubeconfig))
    core = client.CoreV1Api(api)

    def real_quota_pods() -> str | None:
        quota = core.read_namespaced_resource_quota("gpu-cap", "team-00")
        return quota.spec.hard["pods"]

    def ensure_namespace(name: str) -> None:
        if name not in {ns.metadata.name for ns in core.list_namespace().items}:
            core.create_namespace({"metadata": {"name": name}})

    with FaultProxy(Upstream.admin_of(plane), tmp_path / "proxy") as proxy:
        yield FaultyCluster(proxy.faults, proxy.kubeconfig, real_quota_pods, ensure_namespace)
    api.close()


@pytest.mark.parametrize("leader_elect", [True, False], ids=["leader-election", "single-replica"])
def test_api_unreachable_daemon_stays_up_and_recovers(tmp_path, leader_elect, backend, request):
    """The API server resetting every connection for 8 s (standing in for a minute: longer
    than the daemon's back-off cap of 2 s here, its client's retries of about 3 s and the
    Lease's 2 s renew deadline): the daemon stays live and ready (it can still serve webhooks),
    /status says it is not applying (failing passes, or leadership lost), and once the API is
    back it applies the commit made during the outage by itself."""
    repo = GitRepo(tmp_path / "repo", RepoSpec(configmaps=5))
    with faulty_cluster(backend, repo, request, tmp_path) as sb:
        election = {"lease_duration": "3s", "renew_deadline": "2s", "retry_period": "0.2s"}
        if leader_elect:
            sb.ensure_namespace("gpuctl-system")
        settings = daemon_settings(tmp_path, repo.path, sb.kubeconfig, leader_elect=leader_elect,
                                   **election)
        with running_daemon(settings) as assembled:
            port = assembled.daemon.http.port
            assert wait_until(lambda: readyz(port) == 200 and sb.quota_pods() == "64", 60)
            sb.faults.unreachable = True
            repo.spec.quota_pods = 70
            head = repo.commit("raise the pod cap during the outage")
            assert wait_until(lambda: _not_applying(port), OUTAGE_S)
            deadline = time.monotonic() + OUTAGE_S
            while time.monotonic() < deadline:
                assert http_status(port, "/healthz") == 200
                assert readyz(port) == 200
                assert sb.quota_pods() == "64"
                time.sleep(0.2)
            sb.faults.unreachable = False
            assert wait_until(lambda: readyz(port) == 200 and sb.quota_pods() == "70", 60)
            assert wait_until(lambda: assembled.daemon.status.snapshot()["last"]["revision"] == head, 30)


def _not_applying(port: int) -> bool:
    """What /status shows while the API is unreachable: passes failing, or the Lease lost."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/status")
    status = json.loads(conn.getresponse().read())
    conn.close()
    return bool(status["reconcile_failing"]) or not status["leader"]


def metric(assembled, name: str, **labels: str) -> float | None:
    return assembled.daemon.metrics.registry.get_sample_value(name, labels or None)


def remote_rig(tmp_path: Path) -> tuple[GitRepo, Path]:
    """A working repository pushed to a local bare remote (what the daemon follows)."""
    work = GitRepo(tmp_path / "work", RepoSpec(configmaps=3))
    remote = tmp_path / "remote.git"
    git.Repo.init(remote, bare=True, initial_branch="main")
    work.repo.create_remote("origin", str(remote))
    work.repo.git.push("origin", "main")
    return work, remote


def test_git_remote_unreachable_keeps_the_last_good_revision(tmp_path):
    """With the remote gone, fetches fail: the last good revision stays applied (and its
    objects are kept as they are), `gpuctl_git_source_reachable` drops to 0 and the fetch
    error counter grows; when the remote is back, its new commit is applied."""
    work, remote = remote_rig(tmp_path)
    with sandbox_for(work, SPEED) as sb:
        settings = daemon_settings(tmp_path, remote.as_uri(), sb.kubeconfig_path, poll_interval="0.3s")
        with running_daemon(settings) as assembled:
            first = work.repo.head.commit.hexsha
            assert wait_until(lambda: quota_pods(sb) == "64"
                              and metric(assembled, "gpuctl_git_source_reachable") == 1, 60)
            moved = remote.with_name("moved.git")
            remote.rename(moved)
            assert wait_until(lambda: metric(assembled, "gpuctl_git_source_reachable") == 0, 30)
            errors = metric(assembled, "gpuctl_git_fetch_errors_total") or 0

            def failed_again() -> bool:
                return (metric(assembled, "gpuctl_git_fetch_errors_total") or 0) >= errors + 3

            assert wait_until(failed_again, 30)
            assert metric(assembled, "gpuctl_revision_info", revision=first) == 1
            assert quota_pods(sb) == "64"
            assert assembled.daemon.healthy()
            moved.rename(remote)
            work.spec.quota_pods = 90
            work.commit("raise the cap once the remote is back")
            work.repo.git.push("origin", "main")
            assert wait_until(lambda: quota_pods(sb) == "90", 60)
            assert metric(assembled, "gpuctl_git_source_reachable") == 1


def test_force_push_is_reconciled_to_the_new_head_and_noted_in_the_audit_log(tmp_path):
    """A force-push replacing the applied commit with an unrelated one: the daemon applies
    the new head, and its audit record names the revision whose history was rewritten."""
    work, remote = remote_rig(tmp_path)
    with sandbox_for(work, SPEED) as sb:
        settings = daemon_settings(tmp_path, remote.as_uri(), sb.kubeconfig_path, poll_interval="0.3s")
        with running_daemon(settings) as assembled:
            work.spec.quota_pods = 70
            applied = work.commit("cap 70")
            work.repo.git.push("origin", "main")
            assert wait_until(lambda: quota_pods(sb) == "70"
                              and assembled.daemon.status.snapshot()["last"]["revision"] == applied, 60)
            work.repo.git.reset("--hard", "HEAD~1")
            work.spec.quota_pods = 75
            rewritten = work.commit("cap 75, replacing 'cap 70'")
            work.repo.git.push("--force", "origin", "main")
            assert wait_until(lambda: quota_pods(sb) == "75", 60)
            assert wait_until(lambda: assembled.daemon.status.snapshot()["last"]["revision"] == rewritten, 30)
    with AuditReader(tmp_path / "audit.db") as reader:
        records = [r for r in reader.reconciles(20) if r.revision.get("sha") == rewritten]
    assert records and all(r.revision.get("history_rewritten_from") == applied for r in records)
    assert records[0].outcome == "succeeded"


def node_state(sb, pool: str) -> dict[str, tuple[str | None, str | None, bool]]:
    """Each node of `pool`: (mig.config, rollout phase, cordoned)."""
    return {
        n["metadata"]["name"]: (
            n["metadata"]["labels"].get("nvidia.com/mig.config"),
            (n["metadata"].get("annotations") or {}).get("gpuctl.dev/rollout-phase"),
            bool((n.get("spec") or {}).get("unschedulable")),
        )
        for n in pool_nodes(sb, pool)
    }


def test_mig_manager_failures_halt_their_pool_and_others_continue(tmp_path):
    """The MIG manager reports `failed` on chosen nodes: the `halt` pool stops at its failed
    node (which stays cordoned, marked failed) and starts no other node; the `continue` pool
    rolls out around its failed node; a pool without failures finishes."""
    pools = [Pool("halting", 4, max_unavailable=1, on_failure="halt"),
             Pool("going-on", 4, max_unavailable=2, on_failure="continue"),
             Pool("healthy", 3, max_unavailable=2)]
    repo = GitRepo(tmp_path / "repo", RepoSpec(pools=pools, configmaps=2))
    with sandbox_for(repo, SPEED) as sb:
        settings = daemon_settings(tmp_path, repo.path, sb.kubeconfig_path)
        with running_daemon(settings) as assembled:
            assert wait_until(lambda: quota_pods(sb) == "64", 60)
            sb.faults.mig_fail_nodes = {"halting-0", "going-on-1"}
            for pool in repo.spec.pools:
                pool.mig = "all-1g.10gb"
            repo.commit("smaller MIG slices everywhere")
            assert wait_until(lambda: rolled_out(sb, "healthy", "all-1g.10gb"), 90)

            def going_on_done() -> bool:
                state = node_state(sb, "going-on")
                return all(state[f"going-on-{i}"] == ("all-1g.10gb", None, False) for i in (0, 2, 3))

            assert wait_until(going_on_done, 90)
            assert wait_until(lambda: assembled.daemon.status.snapshot()["last"]["result"] == "failed", 30)
            halting = node_state(sb, "halting")
            going_on = node_state(sb, "going-on")
            rollout = assembled.daemon.metrics.registry.get_sample_value(
                "gpuctl_rollout_nodes", {"pool": "halting", "state": "failed"})
    assert halting["halting-0"][1:] == ("failed", True)
    assert [halting[f"halting-{i}"] for i in (1, 2, 3)] == [("all-balanced", None, False)] * 3
    assert going_on["going-on-1"][1:] == ("failed", True)
    assert rollout == 1


def test_events_are_best_effort_when_the_api_is_unreachable(tmp_path, backend, request):
    """Posting an Event to an API that resets the connection returns False instead of
    raising (which used to end the Events of the whole pass), and works again after."""
    repo = GitRepo(tmp_path / "repo", RepoSpec(configmaps=1))
    with faulty_cluster(backend, repo, request, tmp_path) as sb:
        api = api_client_for(ConnectionSpec(kubeconfig=str(sb.kubeconfig)))
        recorder = KubeEventRecorder(api, "test", timeout_s=2)
        ref = ObjectRef("", "ConfigMap", "default", "x")
        sb.faults.unreachable = True
        assert recorder.record(ref, reason="Configured", message="m", revision="r") is False
        sb.faults.unreachable = False
        assert recorder.record(ref, reason="Configured", message="m", revision="r") is True
        api.close()
