"""The wired daemon in-process with a scripted runner: real Git repositories, real HTTP,
leader hand-over between two replicas on one Lease, and graceful stop of a running pass."""

import http.client
import json
import threading
import time

import pytest

from reconciler.daemon.daemon import Daemon, RepoLocation
from reconciler.daemon.protocols import ReconcileReport, StopCheck, WorkItem
from reconciler.daemon.settings import load_settings
from reconciler.daemon.webhooks import sign
from schemas.results import ReconcileOutcome, Trigger
from tests.daemon.fakes import MemoryLeaseStore, ScriptedRunner
from tests.daemon.gitrepos import commit_file, init_repo


def wait_until(predicate, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def get(daemon: Daemon, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", daemon.http.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def settings_for(repo: str, tmp_path, **extra):
    return load_settings({"repo": repo, "listen": "127.0.0.1:0", "cache_dir": str(tmp_path / "cache"),
                          "resync_interval": "1h", "poll_interval": "1h", **extra})


@pytest.fixture
def daemons():
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()


def test_local_repository_startup_and_commit(tmp_path, daemons):
    """The daemon reconciles the head at start, becomes ready, then reconciles each new commit."""
    repo = init_repo(tmp_path / "repo")
    runner = ScriptedRunner()
    locations: list[RepoLocation] = []

    def factory(location: RepoLocation) -> ScriptedRunner:
        locations.append(location)
        return runner

    daemon = Daemon(settings_for(str(tmp_path / "repo"), tmp_path, path="clusters/a"), factory)
    daemons.append(daemon)
    assert not daemon.ready()
    daemon.start()
    first = repo.head.commit.hexsha
    assert wait_until(lambda: [(i.revision, i.trigger) for i in runner.items] == [(first, Trigger.STARTUP)])
    assert wait_until(lambda: get(daemon, "/readyz")[0] == 200)
    # No pause for the watch to be set up: the watcher also re-reads the head every few seconds.
    sha = commit_file(repo, "quota.yaml", "kind: ResourceQuota\n", "add quota")
    assert wait_until(lambda: any(i.revision == sha and i.trigger == Trigger.COMMIT for i in runner.items))
    status = json.loads(get(daemon, "/status")[1])
    assert wait_until(lambda: json.loads(get(daemon, "/status")[1])["last"]["revision"] == sha)
    assert status["leader"] is True
    assert locations == [RepoLocation((tmp_path / "repo").resolve(), "clusters/a", False)]


def test_webhook_fetches_the_remote_and_reconciles_the_pushed_commit(tmp_path, daemons):
    """A signed push webhook makes the daemon fetch the (local bare) remote at once."""
    work = init_repo(tmp_path / "work")
    import git

    git.Repo.init(tmp_path / "remote.git", bare=True, initial_branch="main")
    work.create_remote("origin", str(tmp_path / "remote.git"))
    work.git.push("origin", "main")
    runner = ScriptedRunner()
    url = (tmp_path / "remote.git").as_uri()
    daemon = Daemon(settings_for(url, tmp_path, webhook_secret="hook"), lambda location: runner)
    daemons.append(daemon)
    daemon.start()
    assert wait_until(lambda: len(runner.items) == 1)
    sha = commit_file(work, "quota.yaml", "kind: ResourceQuota\n", "add quota")
    work.git.push("origin", "main")
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", daemon.http.port, timeout=30)
    conn.request("POST", "/webhooks/github", body=body, headers={"X-Hub-Signature-256": sign(b"hook", body)})
    assert conn.getresponse().status == 202
    conn.close()
    assert wait_until(lambda: any(i.revision == sha and i.trigger == Trigger.WEBHOOK for i in runner.items))
    metrics = get(daemon, "/metrics")[1].decode()
    assert "gpuctl_git_fetch_duration_seconds_count 2.0" in metrics


def test_two_replicas_never_write_together_and_hand_over_on_stop(tmp_path, daemons):
    """Only the Lease holder runs passes; stopping it hands over to the other replica."""
    init_repo(tmp_path / "repo")
    store = MemoryLeaseStore()
    runners = {name: ScriptedRunner() for name in ("a", "b")}
    timing = {"lease_duration": "3s", "renew_deadline": "2s", "retry_period": "0.05s"}
    replicas = {}
    for name, runner in runners.items():
        settings = settings_for(str(tmp_path / "repo"), tmp_path, identity=name, **timing)
        replicas[name] = Daemon(settings, lambda location, r=runner: r, lease_store=store)
        daemons.append(replicas[name])
    replicas["a"].start()
    assert wait_until(lambda: len(runners["a"].items) == 1)
    replicas["b"].start()
    overlap = []
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.is_set():
            if replicas["a"].elector.is_leader() and replicas["b"].elector.is_leader():
                overlap.append(time.monotonic())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    time.sleep(0.3)
    assert runners["b"].items == []
    assert wait_until(lambda: get(replicas["b"], "/readyz")[0] == 200)  # followers are ready
    replicas["a"].stop()
    assert wait_until(lambda: len(runners["b"].items) == 1)
    stop_sampling.set()
    sampler.join()
    assert overlap == []
    assert runners["b"].items[0].trigger == Trigger.STARTUP
    assert b"gpuctl_leader 1.0" in get(replicas["b"], "/metrics")[1]


def test_stop_lets_the_running_pass_finish_its_write(tmp_path, daemons):
    """On stop, a pass waiting for health is told to stop and its report is still recorded."""
    init_repo(tmp_path / "repo")
    entered = threading.Event()

    def script(item: WorkItem, should_stop: StopCheck) -> ReconcileReport:
        entered.set()
        while not should_stop():
            time.sleep(0.005)
        return ReconcileReport(item.revision, ReconcileOutcome.SUCCEEDED, interrupted=True)

    daemon = Daemon(settings_for(str(tmp_path / "repo"), tmp_path), lambda location: ScriptedRunner(script))
    daemons.append(daemon)
    daemon.start()
    assert entered.wait(30)
    daemon.stop()
    history = daemon.status.snapshot()["history"]
    assert [h["interrupted"] for h in history] == [True]
    assert not daemon.healthy()
