"""Follow a local repository with watchfiles.

Commit mode (default): watch the `.git` directory's refs, and submit the branch's new head
SHA whenever a commit, reset or fetch moves it. Working-tree mode (`--working-tree`, for
development): watch the files themselves (not `.git`) and submit a digest of their
content, so uncommitted edits are applied; the runner then loads the directory as it is.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import git
import structlog
from watchfiles import Change, watch

from reconciler.triggers.base import Submit, TriggerError
from schemas.results import Trigger

log = structlog.get_logger("gpuctl.triggers.local")

WORKTREE_PREFIX = "worktree:"
# watchfiles groups a burst and yields `_STEP_MS` after the last change of the burst.
_STEP_MS = 30
_RECHECK_MS = 5000
_IGNORED_DIRS = frozenset({".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".venv", "node_modules"})


def branch_head(repo: git.Repo, branch: str) -> str:
    """The SHA `refs/heads/<branch>` points at; TriggerError if the branch does not exist."""
    try:
        return repo.commit(f"refs/heads/{branch}").hexsha
    except (git.BadName, ValueError) as exc:
        raise TriggerError(f"branch {branch!r} not found in {repo.git_dir}") from exc


def working_tree_digest(root: Path) -> str:
    """`worktree:<sha256>` of every file's relative path and bytes under `root` (not `.git`)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if _IGNORED_DIRS.intersection(rel.parts[:-1]) or rel.parts[0] in _IGNORED_DIRS:
            continue
        digest.update(str(rel).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return WORKTREE_PREFIX + digest.hexdigest()


class LocalRepoWatcher:
    """A `RevisionSource` for a local repository that also submits new revisions as they appear."""

    def __init__(self, root: Path, branch: str, submit: Submit, *, working_tree: bool = False,
                 subpath: str = "") -> None:
        self.root = root.resolve()
        self.branch = branch
        self.working_tree = working_tree
        self._submit = submit
        self._repo: git.Repo | None
        self._lock = threading.Lock()  # one GitPython Repo is not safe across threads
        try:
            self._repo = git.Repo(self.root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            if not working_tree:
                raise TriggerError(f"{root} is not a Git repository (use --working-tree for a plain "
                                   "directory)") from exc
            self._repo = None
        self._watched = self.root / subpath if working_tree else Path(self._git_dir())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = self.current()

    def _git_dir(self) -> str:
        assert self._repo is not None
        return str(self._repo.git_dir)

    def current(self) -> str:
        if self.working_tree:
            return working_tree_digest(self._watched)
        assert self._repo is not None
        with self._lock:
            return branch_head(self._repo, self.branch)

    def start(self) -> None:
        """Watch in a background thread until `stop()`."""
        self._thread = threading.Thread(target=self._watch, name="gpuctl-watch-local", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _relevant(self, change: Change, path: str) -> bool:
        rel = Path(path).relative_to(self._watched).parts
        if not rel:
            return False
        if self.working_tree:
            return not _IGNORED_DIRS.intersection(rel)
        return rel[0] in {"refs", "packed-refs", "HEAD"}

    def _watch(self) -> None:
        # In commit mode the watch also wakes every `_RECHECK_MS` without events and re-reads
        # the branch head (cheap), so a ref change made while the watch was being set up, or
        # one the file system did not report, is still noticed.
        for changes in watch(self._watched, watch_filter=self._relevant, step=_STEP_MS,
                             stop_event=self._stop, raise_interrupt=False,
                             yield_on_timeout=not self.working_tree, rust_timeout=_RECHECK_MS):
            if changes or not self.working_tree:
                self.check()

    def check(self) -> None:
        """Submit the current revision if it differs from the last one submitted."""
        try:
            revision = self.current()
        except (TriggerError, OSError, ValueError) as exc:
            log.warning("cannot read repository", root=str(self.root), error=str(exc))
            return
        if revision != self._last:
            self._last = revision
            log.info("new revision", revision=revision, root=str(self.root))
            self._submit(revision, Trigger.COMMIT)
