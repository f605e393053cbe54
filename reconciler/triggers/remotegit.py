"""Follow a remote repository: a bare GitPython clone in a cache directory, fetched on an
APScheduler interval (default 60 s) and at once when a webhook arrives. The clone is what
the runner reads revisions from (any revision's tree, without a checkout)."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import git
import structlog

from reconciler.errors import TransientError
from reconciler.triggers.base import Submit, TriggerError
from schemas.results import Trigger

log = structlog.get_logger("gpuctl.triggers.remote")


class FetchError(TransientError):
    """A fetch failed (network, auth, missing branch): retried on the next poll or webhook."""


def cache_path(cache_dir: Path, url: str) -> Path:
    """A stable, readable directory for `url`'s clone inside `cache_dir`."""
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1]).strip("-") or "repo"
    return cache_dir / f"{tail.removesuffix('.git')}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.git"


class RemoteMirror:
    """A bare clone of `url` tracking `branch`; `fetch()` returns the branch head after fetching."""

    def __init__(self, url: str, branch: str, cache_dir: Path,
                 on_fetch_duration: Callable[[float], None] = lambda seconds: None) -> None:
        self.url = url
        self.branch = branch
        self.path = cache_path(cache_dir, url)
        self._on_fetch_duration = on_fetch_duration
        self._lock = threading.Lock()
        self._repo: git.Repo | None = None
        self._head: str | None = None

    def _open_or_clone(self) -> git.Repo:
        if self._repo is not None:
            return self._repo
        if (self.path / "HEAD").exists():
            repo = git.Repo(self.path)
            if repo.remotes.origin.url != self.url:
                raise TriggerError(f"cache {self.path} holds a clone of {repo.remotes.origin.url}, "
                                   f"not {self.url}; remove it or choose another --cache-dir")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            log.info("cloning", url=self.url, path=str(self.path))
            repo = git.Repo.clone_from(self.url, self.path, bare=True, branch=self.branch, single_branch=True)
        self._repo = repo
        return repo

    def fetch(self) -> str:
        """Fetch the branch and return its head SHA; FetchError when that fails."""
        with self._lock:
            started = time.monotonic()
            try:
                repo = self._open_or_clone()
                refspec = f"+refs/heads/{self.branch}:refs/heads/{self.branch}"
                repo.remotes.origin.fetch(refspec, prune=False)
                self._head = repo.commit(f"refs/heads/{self.branch}").hexsha
            except (git.GitCommandError, git.BadName, ValueError) as exc:
                raise FetchError(f"fetching {self.branch!r} from {self.url}: {exc}") from exc
            finally:
                self._on_fetch_duration(time.monotonic() - started)
            return self._head

    def current(self) -> str:
        """The head as of the last successful fetch (fetching once if there was none)."""
        if self._head is None:
            return self.fetch()
        return self._head


class RemotePoller:
    """Fetches the mirror when told (interval job, webhook) and submits a moved head."""

    def __init__(self, mirror: RemoteMirror, submit: Submit,
                 on_error: Callable[[], None] = lambda: None,
                 on_success: Callable[[], None] = lambda: None) -> None:
        self.mirror = mirror
        self._submit = submit
        self._on_error = on_error
        self._on_success = on_success
        self._last: str | None = None
        self._lock = threading.Lock()

    def poll(self, trigger: Trigger = Trigger.POLL) -> str | None:
        """Fetch now; submit and return the new head if it moved, else None."""
        try:
            head = self.mirror.fetch()
        except FetchError as exc:
            self._on_error()
            log.warning("fetch failed", error=str(exc), trigger=trigger.value)
            return None
        self._on_success()
        with self._lock:
            if head == self._last:
                return None
            self._last = head
        log.info("new revision", revision=head, url=self.mirror.url, trigger=trigger.value)
        self._submit(head, trigger)
        return head

    def mark_seen(self, head: str) -> None:
        """Remember `head` as already submitted (the start-up reconcile submits it itself)."""
        with self._lock:
            self._last = head
