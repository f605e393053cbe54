"""Helpers for tests that need real Git repositories (temporary, with local bare remotes)."""

from __future__ import annotations

import threading
from pathlib import Path

import git

AUTHOR = git.Actor("Test Author", "author@example.invalid")


def init_repo(path: Path, branch: str = "main") -> git.Repo:
    """A fresh repository at `path` with one commit on `branch`."""
    repo = git.Repo.init(path, initial_branch=branch)
    commit_file(repo, "namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ml\n", "initial")
    return repo


def commit_file(repo: git.Repo, rel: str, text: str, message: str) -> str:
    """Write `rel`, commit it, return the new SHA."""
    path = Path(repo.working_tree_dir or ".") / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    repo.index.add([rel])
    return repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha


class Submissions:
    """A Submit callable that records (revision, trigger) and lets tests wait for one."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object]] = []
        self._cond = threading.Condition()

    def __call__(self, revision: str, trigger: object) -> None:
        with self._cond:
            self.items.append((revision, trigger))
            self._cond.notify_all()

    def wait_for(self, predicate, timeout_s: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: any(predicate(r, t) for r, t in self.items), timeout_s)
