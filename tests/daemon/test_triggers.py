"""Triggers on real Git repositories: the local watcher (commits and working tree), the
remote mirror and poller against a local bare remote, and the scheduler."""

import threading
from pathlib import Path

import git
import pytest

from reconciler.triggers.base import TriggerError
from reconciler.triggers.localgit import WORKTREE_PREFIX, LocalRepoWatcher
from reconciler.triggers.remotegit import FetchError, RemoteMirror, RemotePoller
from reconciler.triggers.schedule import TriggerScheduler, resync_job
from schemas.results import Trigger
from tests.daemon.gitrepos import Submissions, commit_file, init_repo


def test_a_commit_on_the_branch_is_submitted(tmp_path):
    """The watcher submits the branch's new head SHA after a commit."""
    repo = init_repo(tmp_path / "repo")
    seen = Submissions()
    watcher = LocalRepoWatcher(tmp_path / "repo", "main", seen)
    watcher.start()
    try:  # no pause for inotify: the watcher also re-reads the head every few seconds
        sha = commit_file(repo, "quota.yaml", "kind: ResourceQuota\n", "add quota")
        assert seen.wait_for(lambda rev, trig: rev == sha and trig == Trigger.COMMIT)
    finally:
        watcher.stop()


def test_commits_on_other_branches_are_not_submitted(tmp_path):
    """A commit on another branch leaves the followed branch's head, so nothing is submitted."""
    repo = init_repo(tmp_path / "repo")
    seen = Submissions()
    watcher = LocalRepoWatcher(tmp_path / "repo", "main", seen)
    repo.git.checkout("-b", "feature")
    commit_file(repo, "x.yaml", "a: 1\n", "feature work")
    watcher.check()
    assert seen.items == []


def test_working_tree_mode_follows_uncommitted_edits(tmp_path):
    """With --working-tree, saving a file submits a new content digest without a commit."""
    init_repo(tmp_path / "repo")
    seen = Submissions()
    watcher = LocalRepoWatcher(tmp_path / "repo", "main", seen, working_tree=True)
    first = watcher.current()
    watcher.start()
    try:
        # A file watch that is not set up yet misses an edit: save again (new content each
        # time) until one is seen, rather than pausing for the watch to settle.
        edited = lambda rev, trig: rev.startswith(WORKTREE_PREFIX) and rev != first  # noqa: E731
        for attempt in range(300):
            manifest = f"kind: Namespace\nmetadata: {{name: other{attempt}}}\n"
            (tmp_path / "repo" / "namespace.yaml").write_text(manifest)
            if seen.wait_for(edited, 0.2):
                break
        assert seen.wait_for(edited, 1)
    finally:
        watcher.stop()


def test_a_plain_directory_needs_working_tree_mode(tmp_path):
    """Following commits of a directory that is not a repository is a clear error."""
    (tmp_path / "plain").mkdir()
    with pytest.raises(TriggerError, match="not a Git repository"):
        LocalRepoWatcher(tmp_path / "plain", "main", Submissions())


def test_missing_branch_is_a_clear_error(tmp_path):
    """Following a branch that does not exist names the branch."""
    init_repo(tmp_path / "repo")
    with pytest.raises(TriggerError, match="'release' not found"):
        LocalRepoWatcher(tmp_path / "repo", "release", Submissions())


def make_remote(tmp_path: Path) -> tuple[git.Repo, git.Repo]:
    """A bare remote and a working clone that pushes to it."""
    work = init_repo(tmp_path / "work")
    bare = git.Repo.init(tmp_path / "remote.git", bare=True, initial_branch="main")
    work.create_remote("origin", str(tmp_path / "remote.git"))
    work.git.push("origin", "main")
    return bare, work


def test_remote_poll_submits_only_moved_heads(tmp_path):
    """Polling the mirror submits a pushed commit once, and nothing while the head stays."""
    _, work = make_remote(tmp_path)
    durations: list[float] = []
    mirror = RemoteMirror(str(tmp_path / "remote.git"), "main", tmp_path / "cache", durations.append)
    seen = Submissions()
    poller = RemotePoller(mirror, seen)
    first = poller.poll()
    assert first == work.head.commit.hexsha
    assert poller.poll() is None
    sha = commit_file(work, "quota.yaml", "kind: ResourceQuota\n", "add quota")
    work.git.push("origin", "main")
    assert poller.poll(Trigger.WEBHOOK) == sha
    assert seen.items == [(first, Trigger.POLL), (sha, Trigger.WEBHOOK)]
    assert len(durations) == 3
    assert mirror.path.parent == tmp_path / "cache"
    assert git.Repo(mirror.path).commit(sha).message == "add quota"


def test_fetch_failure_is_reported_and_not_submitted(tmp_path):
    """An unreachable remote counts an error and submits nothing."""
    errors: list[int] = []
    mirror = RemoteMirror(str(tmp_path / "missing.git"), "main", tmp_path / "cache")
    seen = Submissions()
    poller = RemotePoller(mirror, seen, on_error=lambda: errors.append(1))
    assert poller.poll() is None
    assert errors == [1]
    assert seen.items == []
    with pytest.raises(FetchError, match=r"missing\.git"):
        mirror.fetch()


def test_cache_of_another_url_is_refused(tmp_path):
    """A cache directory holding a clone of a different URL is not silently reused."""
    make_remote(tmp_path)
    mirror = RemoteMirror(str(tmp_path / "remote.git"), "main", tmp_path / "cache")
    mirror.fetch()
    clone = git.Repo(mirror.path)
    clone.remotes.origin.set_url(str(tmp_path / "elsewhere.git"))
    with pytest.raises(TriggerError, match="holds a clone of"):
        RemoteMirror(str(tmp_path / "remote.git"), "main", tmp_path / "cache").fetch()


def test_scheduler_runs_interval_and_one_off_jobs(tmp_path):
    """Interval jobs repeat and `soon` jobs run once; resync submits the current revision."""
    repo = init_repo(tmp_path / "repo")
    seen = Submissions()
    watcher = LocalRepoWatcher(tmp_path / "repo", "main", seen)
    scheduler = TriggerScheduler()
    scheduler.every(0.05, resync_job(watcher, seen), "resync")
    once = threading.Event()
    scheduler.soon(once.set, "once")
    scheduler.start()
    try:
        assert once.wait(30)
        head = repo.head.commit.hexsha
        assert seen.wait_for(lambda rev, trig: trig == Trigger.RESYNC and rev == head)
        assert seen.wait_for(lambda rev, trig: sum(1 for _, t in seen.items if t == Trigger.RESYNC) >= 3)
    finally:
        scheduler.shutdown()
